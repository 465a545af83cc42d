import PluginJSON
import ProxyWasm
import TelemetryCore

/// Filter-state names written by metadata exchange.
enum PeerKeys {
    static let unknownPeer = "envoy.wasm.metadata_exchange.peer_unknown"
}

/// One stats plugin instance (root id `stats_outbound` or `stats_inbound`).
final class StatsRoot: RootContext {
    var configuration = StatsConfiguration()
    var outbound = true
    var metrics: [MetricFactory] = []
    var local = WorkloadLabels()
    var localNode = PeerNode()
    var localCanonicalService: String?
    /// Defined metrics: by stat-name prefix (the encoded tags), one slot per
    /// configured metric. Envoy hands out a new id per define, so each full
    /// name is defined once; one lookup per distinct tag set per request.
    private var metricIDs: [StatNameKey: [Metric?]] = [:]
    /// Label sets in `metricIDs` other than the overflow ones: bounded by
    /// `configuration.maxLabelSets`, so no peer or header can grow the series
    /// (and this plugin's memory) without limit.
    private var labelSets = 0
    /// Reports that were folded into an overflow series.
    private var folded: Metric?
    static let overflowValue = "overflow"
    /// Decoded peer labels by peer id, with the bytes they were decoded from.
    private(set) var peerLabels: [String: (bytes: [UInt8], labels: WorkloadLabels)] = [:]
    /// Bound on `peerLabels`; past it the cache starts over (peers are re-decoded, nothing is lost).
    static let peerLabelsLimit = 1024
    /// Peers whose FlatNode is larger are decoded on every report instead of
    /// cached, so the cache holds at most 1024 x 4 KiB whatever peers send
    /// (Istio's node metadata makes ~1 KiB).
    static let peerBytesLimit = 4096
    private let xds = XDSAttributes()

    override func onConfigure(pluginConfigurationSize: Int) -> Bool {
        let bytes: [UInt8]
        do throws(HostError) {
            bytes = pluginConfigurationSize == 0 ? [] : try pluginConfiguration()
        } catch {
            Log.error("stats: cannot read the plugin configuration: \(error.status.name)")
            return false
        }
        do throws(StatsConfigurationError) {
            configuration = try StatsConfiguration.parse(bytes)
        } catch {
            Log.error("stats: invalid configuration: \(error.message)")
            return false
        }
        for warning in configuration.warnings { Log.warn("stats: \(warning)") }
        let plan = MetricPlan.build(configuration)
        metrics = plan.metrics
        for warning in plan.warnings { Log.warn("stats: \(warning)") }
        if !plan.errors.isEmpty {
            for error in plan.errors { Log.error("stats: invalid configuration: \(error)") }
            return false
        }
        let rootID = (try? Properties.string(["plugin_root_id"])) ?? nil
        switch rootID {
        case "stats_inbound": outbound = false
        case "stats_outbound": outbound = true
        default:
            let direction = property(["listener_direction"]).flatMap { try? PropertyValue.decodeInt64($0) }
            outbound = direction != TrafficDirection.inbound.rawValue
            Log.info("stats: root id \"\(rootID ?? "")\" is neither stats_outbound nor stats_inbound; reporting as \(outbound ? "source" : "destination")")
        }
        localNode = PeerNode.local(strings: { self.nodeString(["metadata", $0]) }, maps: { self.nodeMap(["metadata", $0]) })
        local = WorkloadLabels(localNode)
        localCanonicalService = localNode.label("service.istio.io/canonical-name")
        metricIDs.removeAll()
        labelSets = 0
        for index in metrics.indices { metrics[index].overflowPrefix = overflowPrefix(metrics[index]) }
        folded = try? Metric.define(.counter, name: "istio_stats.label_sets_folded")
        let version = nodeString(["metadata", "ISTIO_VERSION"]) ?? "unknown"
        if let build = try? Metric.define(.gauge, name: "component.proxy.tag.\(version);.istio_build") {
            try? build.record(1)
        }
        try? Clock.setTickPeriod(milliseconds: configuration.tcpReportingMilliseconds)
        return true
    }

    override var streamKind: StreamKind { .automatic }

    override func createHttpContext(id: UInt32) -> HttpContext? { StatsStream(id: id, root: self) }

    override func createTcpContext(id: UInt32) -> TcpContext? {
        let connection = StatsConnection(id: id, root: self)
        connections[id] = connection
        return connection
    }

    /// Open connections, reported on every tick.
    var connections: [UInt32: StatsConnection] = [:]

    /// gRPC streams past their response headers, reported on every tick.
    var grpcStreams: [UInt32: StatsStream] = [:]

    override func onTick() {
        for connection in connections.values { connection.reportPeriodically() }
        for stream in grpcStreams.values { stream.reportMessages() }
    }

    func rememberPeer(id: String, bytes: [UInt8], labels: WorkloadLabels) {
        if bytes.count > Self.peerBytesLimit { return }
        if peerLabels.count >= Self.peerLabelsLimit { peerLabels.removeAll(keepingCapacity: true) }
        peerLabels[id] = (bytes, labels)
    }

    /// Emits every metric of one kind (HTTP or TCP) for one report: tags from
    /// the standard labels and expressions, values from `value`; metrics with
    /// the same tag list share one encoded prefix and one cache lookup.
    func emit(tcp: Bool, labels: [String], environment: ExpressionEnvironment, include: (MetricFactory) -> Bool = { _ in true },
              value: (MetricValue) -> UInt64?) {
        var previousGroup = -1
        var prefix = StatNameKey([])
        var slots: [Metric?]? = nil
        var countsTowardsLimit = true
        var foldedThisReport = false
        var expressionValues: [String: String] = [:]
        for (index, metric) in metrics.enumerated() where metric.isTCP == tcp && include(metric) {
            guard let recorded = value(metric.value) else { continue }
            // Metrics of one tag group share the prefix: encode it once per report.
            if metric.tagGroup != previousGroup {
                var tags: [(String, String)] = []
                tags.reserveCapacity(metric.activeTags.count)
                for tag in metric.activeTags {
                    switch tag.value {
                    case let .standard(label): tags.append((tag.name, labels[label.rawValue]))
                    case let .expression(expression, source):
                        let text = expressionValues[source] ?? (expression.evaluate(environment)?.labelText ?? "unknown")
                        expressionValues[source] = text
                        tags.append((tag.name, text))
                    }
                }
                prefix = StatNameKey(IstioStats.statNamePrefixBytes(tags: tags, fieldSeparator: configuration.fieldSeparator,
                                                                    valueSeparator: configuration.valueSeparator))
                previousGroup = metric.tagGroup
                slots = metricIDs[prefix]
                countsTowardsLimit = true
                if slots == nil && labelSets >= configuration.maxLabelSets {
                    prefix = StatNameKey(metric.overflowPrefix)
                    slots = metricIDs[prefix]
                    countsTowardsLimit = false
                    if !foldedThisReport {
                        foldedThisReport = true
                        try? folded?.increment()
                    }
                }
            }
            record(index, prefix: prefix, slots: &slots, countsTowardsLimit: countsTowardsLimit, value: recorded)
        }
    }

    // MARK: properties, `xds.` first, bare names as fallback

    /// `xds.<path>` on current Envoy, `<path>` on older Envoy.
    func property(_ path: [String]) -> [UInt8]? { xds.bytes(path) }

    func nodeString(_ path: [String]) -> String? { xds.string(["node"] + path) }

    func nodeMap(_ path: [String]) -> [KeyValue]? {
        xds.map(["node"] + path).map { $0.map { KeyValue($0.keyString, $0.valueString) } }
    }

    /// The overflow label set of `metric`'s tags: `reporter` kept, every
    /// other label `overflow`, so totals stay exact and dashboards filtering
    /// on the reporter still see every request.
    func overflowPrefix(_ metric: MetricFactory) -> [UInt8] {
        var tags: [(String, String)] = []
        for tag in metric.activeTags {
            if case .standard(.reporter) = tag.value {
                tags.append((tag.name, outbound ? "source" : "destination"))
            } else {
                tags.append((tag.name, Self.overflowValue))
            }
        }
        return IstioStats.statNamePrefixBytes(tags: tags, fieldSeparator: configuration.fieldSeparator,
                                              valueSeparator: configuration.valueSeparator)
    }

    /// Records `value` on metric `index` for the tag set encoded in `prefix`
    /// (whose defined metrics are `slots`, nil if none yet), defining it once.
    func record(_ index: Int, prefix: StatNameKey, slots: inout [Metric?]?, countsTowardsLimit: Bool, value: UInt64) {
        let factory = metrics[index]
        if factory.type == .counter && value == 0 { return }  // Istio never records zeros on counters
        let isNewLabelSet = slots == nil
        if slots == nil { slots = [Metric?](repeating: nil, count: metrics.count) }
        let metric: Metric
        if let known = slots![index] {
            metric = known
        } else {
            let name = String(decoding: prefix.bytes, as: UTF8.self) + "istio_" + factory.name
            guard let defined = try? Metric.define(factory.type, name: name) else { return }
            slots![index] = defined
            metricIDs[prefix] = slots
            if isNewLabelSet && countsTowardsLimit { labelSets += 1 }
            metric = defined
        }
        switch factory.type {
        case .counter: try? metric.increment(by: Int64(value))
        case .gauge, .histogram: try? metric.record(value)
        }
    }
}

/// An encoded stat-name prefix as a dictionary key.
typealias StatNameKey = BytesKey

/// Registers the plugin.
public enum StatsPlugin {
    public static func register() {
        ProxyWasm.setRootContextFactory { StatsRoot(id: $0) }
    }
}

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() { StatsPlugin.register() }
#endif
