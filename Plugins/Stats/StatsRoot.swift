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
    /// Whose labels this proxy reports: from `reporter`, else the root id or listener direction.
    var role = ReporterRole.source
    var metrics: [MetricFactory] = []
    var local = WorkloadLabels()
    var localNode = PeerNode()
    var localCanonicalService: String?
    /// Defined metrics by label set. Bounded by `configuration.maxLabelSets`,
    /// so no peer or header can grow the series (and this plugin's memory)
    /// without limit; aged on ticks for `metric_expiry_duration`.
    let definedSets = DefinedLabelSets()
    /// What the expiry sweep publishes, when expiry is configured.
    private var cacheGauges: CacheGauges?
    /// Reports that were folded into an overflow series.
    private var folded: Metric?
    static let overflowValue = "overflow"
    /// Decoded peer labels by the exact metadata-exchange bytes they came
    /// from, and by endpoint `istio.workload` text for the fallback.
    let peers = PeerLabelCache()
    let endpointPeers = PeerLabelCache()
    /// Label sets worked out before, by what their labels depend on: a warm
    /// report reads its facts, finds its metrics here and records, without
    /// building a label or a stat name. Bounded; past the bound it starts
    /// over. An entry goes with the label sets it points to when they expire.
    private var knownLabelSets: [BytesKey: KnownLabelSet] = [:]
    var knownLabelSetLimit: Int { 2 * configuration.maxLabelSets + 16 }
    /// Distinct tag lists among the metrics (`MetricFactory.tagGroup`).
    private var tagGroupCount = 0
    /// The expression-valued tags by kind of report (HTTP, TCP): their values join the report's key.
    private var expressionTags: (http: [Tag], tcp: [Tag]) = ([], [])
    let xds = XDSAttributes()
    let clusterServices = ClusterServices()

    override func onVmStart(vmConfigurationSize: Int) -> Bool {
        Log.info("stats \(ProjectVersion.text) starting")
        return true
    }

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
        role = reporterRole()
        localNode = PeerNode.local(strings: { self.nodeString(["metadata", $0]) }, maps: { self.nodeMap(["metadata", $0]) })
        local = WorkloadLabels(localNode)
        localCanonicalService = localNode.label("service.istio.io/canonical-name")
        definedSets.removeAll()
        knownLabelSets.removeAll()
        tagGroupCount = (metrics.map { $0.tagGroup }.max() ?? -1) + 1
        expressionTags = (distinctExpressionTags(tcp: false), distinctExpressionTags(tcp: true))
        for index in metrics.indices { metrics[index].overflowPrefix = overflowPrefix(metrics[index]) }
        folded = try? Metric.define(.counter, name: "istio_stats.label_sets_folded")
        cacheGauges = configuration.metricExpiryMilliseconds == nil ? nil : CacheGauges()
        let version = nodeString(["metadata", "ISTIO_VERSION"]) ?? "unknown"
        if let build = try? Metric.define(.gauge, name: "component.proxy.tag.\(version);.istio_build") {
            try? build.record(1)
        }
        try? Clock.setTickPeriod(milliseconds: configuration.tcpReportingMilliseconds)
        return true
    }

    /// The role the configuration names, or the one the root id (then the
    /// listener direction) implies.
    private func reporterRole() -> ReporterRole {
        switch configuration.reporter {
        case .clientSidecar, .gateway: return .source
        case .serverSidecar: return .destination
        case .waypoint: return .waypoint
        case .unspecified: break
        }
        let rootID = (try? Properties.string(["plugin_root_id"])) ?? nil
        if let rootID, UTF8Text.equal(rootID, "stats_inbound") { return .destination }
        if let rootID, UTF8Text.equal(rootID, "stats_outbound") { return .source }
        let direction = property(["listener_direction"]).flatMap { try? PropertyValue.decodeInt64($0) }
        let role: ReporterRole = direction == TrafficDirection.inbound.rawValue ? .destination : .source
        Log.info("stats: root id \"\(rootID ?? "")\" is neither stats_outbound nor stats_inbound; reporting as \(role.label)")
        return role
    }

    override var streamKind: StreamKind { .automatic }

    override func createHttpContext(id: UInt32) -> HttpContext? { StatsStream(id: id, root: self) }

    override func createTcpContext(id: UInt32) -> TcpContext? {
        let connection = StatsConnection(id: id, root: self)
        connections.insert(connection)
        return connection
    }

    /// Open connections, reported on every tick.
    var connections = TickList<StatsConnection>()

    /// gRPC streams past their response headers, reported on every tick.
    var grpcStreams = TickList<StatsStream>()

    override func onTick() {
        clusterServices.forget()
        for connection in connections.members { connection.reportPeriodically() }
        for stream in grpcStreams.members { stream.reportMessages() }
        definedSets.advance()
        if let expiry = configuration.metricExpiryMilliseconds { forgetIdleLabelSets(expiryMilliseconds: expiry) }
    }

    /// `metric_expiry_duration`: forgets the label sets no report used for
    /// that long; when any went, the caches that could point to them (known
    /// report keys, decoded peers) start over, so they hold no more than what
    /// later reports bring back. Then publishes the cache sizes. Envoy 1.40
    /// keeps the series themselves (a Wasm plugin's stats scope is not
    /// evictable); a label set that comes back is defined again and Envoy
    /// continues its series from the value it had.
    private func forgetIdleLabelSets(expiryMilliseconds: UInt32) {
        let period = max(1, configuration.tcpReportingMilliseconds)
        let idleTicks = expiryMilliseconds / period + (expiryMilliseconds % period == 0 ? 0 : 1)
        let expired = definedSets.expire(idleTicks: idleTicks)
        if expired > 0 {
            knownLabelSets.removeAll()
            peers.removeAll()
            endpointPeers.removeAll()
        }
        cacheGauges?.publish(
            expired: expired, labelSets: definedSets.count, reportKeys: knownLabelSets.count,
            peers: peers.count + endpointPeers.count)
    }

    /// Each distinct expression-valued tag (by source text) of one kind's metrics.
    func distinctExpressionTags(tcp: Bool) -> [Tag] {
        var tags: [Tag] = []
        for metric in metrics where metric.isTCP == tcp {
            for tag in metric.activeTags {
                guard case let .expression(_, source) = tag.value else { continue }
                if !tags.contains(where: {
                    if case let .expression(_, known) = $0.value { return UTF8Text.equal(known, source) } else { return false }
                }) {
                    tags.append(tag)
                }
            }
        }
        return tags
    }

    /// Emits every metric of one kind (HTTP or TCP) for one report: values
    /// from `value`, tags from the standard labels and expressions. A label
    /// set seen before (same peer, facts and expression values) records
    /// straight to its defined metrics; a new one has its labels built and
    /// its stat-name prefix encoded once per tag group.
    func emit(
        tcp: Bool, facts: ReportFacts, environment: StreamReporter,
        include: (MetricFactory) -> Bool = { _ in true }, value: (MetricValue) -> UInt64?
    ) {
        environment.beginReport()
        // A waypoint names two peers: the downstream one first, the upstream one as part of the key.
        let peer = role == .source ? environment.upstreamPeer() : environment.downstreamPeer()
        let upstream: ReportPeer? = role == .waypoint ? environment.upstreamPeer() : nil
        // Expression tags are evaluated once per report; their values are part of the key.
        var expressionValues: [(source: String, text: String)] = []
        var key: [UInt8] = []
        key.reserveCapacity(1024)
        facts.appendKey(to: &key)
        var cacheable = peer.slot != nil
        if let upstream {
            if let slot = upstream.slot { ReportKey.append(UInt64(slot), to: &key) } else { cacheable = false }
        }
        for tag in tcp ? expressionTags.tcp : expressionTags.http {
            guard case let .expression(expression, source) = tag.value else { continue }
            let text = expression.evaluate(environment)?.labelText ?? "unknown"
            expressionValues.append((source, text))
            ReportKey.append(text, to: &key)
        }
        let known: KnownLabelSet
        var reportKey: BytesKey? = nil
        if cacheable, let slot = peer.slot {
            ReportKey.append(UInt64(slot), to: &key)
            reportKey = BytesKey(key)
        }
        if let reportKey, let cached = knownLabelSets[reportKey] {
            known = cached
        } else {
            known = KnownLabelSet(metricCount: metrics.count, groupCount: tagGroupCount)
            if let reportKey {
                if knownLabelSets.count >= knownLabelSetLimit { knownLabelSets.removeAll(keepingCapacity: true) }
                knownLabelSets[reportKey] = known
            }
        }
        let tick = definedSets.tick
        var labels: [String]? = nil
        var foldedThisReport = false
        // Metrics of one tag group are adjacent in the common case: the label
        // set is looked up (and aged) once per run of a group.
        var currentGroup = -1
        var labelSet: DefinedLabelSet? = nil
        for (index, metric) in metrics.enumerated() where metric.isTCP == tcp && include(metric) {
            guard let recorded = value(metric.value) else { continue }
            let group = metric.tagGroup
            if group != currentGroup || labelSet == nil {
                currentGroup = group
                if let resolved = known.sets[group] {
                    labelSet = resolved
                } else {
                    if labels == nil { labels = self.labels(peer: peer.labels, upstream: upstream, facts: facts) }
                    labelSet = resolve(group: group, of: metric, labels: labels!, expressionValues: expressionValues, into: known)
                }
                labelSet!.lastUsedTick = tick
                if labelSet!.isOverflow { foldedThisReport = true }
            }
            if metric.type == .counter && recorded == 0 { continue }  // Istio never records zeros on counters
            guard let defined = known.metrics[index] ?? define(index, in: labelSet!) else { continue }
            known.metrics[index] = defined
            switch metric.type {
            case .counter: try? defined.increment(by: Int64(recorded))
            case .gauge, .histogram: try? defined.record(recorded)
            }
        }
        if foldedThisReport { try? folded?.increment() }
    }

    /// The 25 standard label values: which workload is source and which is
    /// destination depends on the role.
    private func labels(peer: WorkloadLabels, upstream: ReportPeer?, facts: ReportFacts) -> [String] {
        let requestFacts = facts.requestFacts
        switch role {
        case .source:
            return IstioStats.labels(
                role: role, source: local, destination: peer, facts: requestFacts,
                localCanonicalService: localCanonicalService)
        case .destination:
            return IstioStats.labels(
                role: role, source: peer, destination: local, facts: requestFacts,
                localCanonicalService: localCanonicalService)
        case .waypoint:
            return IstioStats.labels(
                role: role, source: peer, destination: upstream?.labels ?? WorkloadLabels(), facts: requestFacts,
                localCanonicalService: localCanonicalService)
        }
    }

    /// Encodes `metric`'s tag group's stat-name prefix for this label set and
    /// finds (or creates) its defined label set: the overflow one once the
    /// bound on label sets is reached.
    private func resolve(
        group: Int, of metric: MetricFactory, labels: [String],
        expressionValues: [(source: String, text: String)], into known: KnownLabelSet
    ) -> DefinedLabelSet {
        var tags: [(String, String)] = []
        tags.reserveCapacity(metric.activeTags.count)
        for tag in metric.activeTags {
            switch tag.value {
            case let .standard(label): tags.append((tag.name, labels[label.rawValue]))
            case let .expression(_, source):
                tags.append((tag.name, expressionValues.first { UTF8Text.equal($0.source, source) }?.text ?? "unknown"))
            }
        }
        let prefix = StatNameKey(
            IstioStats.statNamePrefixBytes(
                tags: tags, fieldSeparator: configuration.fieldSeparator,
                valueSeparator: configuration.valueSeparator))
        let labelSet: DefinedLabelSet
        if !definedSets.contains(prefix) && definedSets.boundedCount >= configuration.maxLabelSets {
            labelSet = definedSets.labelSet(StatNameKey(metric.overflowPrefix), metricCount: metrics.count, isOverflow: true)
        } else {
            labelSet = definedSets.labelSet(prefix, metricCount: metrics.count, isOverflow: false)
        }
        known.sets[group] = labelSet
        return labelSet
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
                tags.append((tag.name, role.label))
            } else {
                tags.append((tag.name, Self.overflowValue))
            }
        }
        return IstioStats.statNamePrefixBytes(
            tags: tags, fieldSeparator: configuration.fieldSeparator,
            valueSeparator: configuration.valueSeparator)
    }

    /// The metric `index` under `labelSet`, defined once per full name while
    /// the label set lives (Envoy hands out a new id per define).
    func define(_ index: Int, in labelSet: DefinedLabelSet) -> Metric? {
        if let known = labelSet.metrics[index] { return known }
        let factory = metrics[index]
        let name = String(decoding: labelSet.prefix.bytes, as: UTF8.self) + "istio_" + factory.name
        guard let defined = try? Metric.define(factory.type, name: name) else { return nil }
        labelSet.metrics[index] = defined
        return defined
    }
}

/// A label set worked out before: its metrics by index as defined so far,
/// and per tag group the label set they are defined under.
final class KnownLabelSet {
    var metrics: [Metric?]
    var sets: [DefinedLabelSet?]

    init(metricCount: Int, groupCount: Int) {
        metrics = [Metric?](repeating: nil, count: metricCount)
        sets = [DefinedLabelSet?](repeating: nil, count: groupCount)
    }
}

/// The cache sizes the expiry sweep publishes: gauges moved by deltas, so the
/// worker VMs of one plugin add up in Envoy's one gauge per name.
struct CacheGauges {
    private let expired = try? Metric.define(.counter, name: "istio_stats.label_sets_expired")
    private var labelSets = PublishedGauge("istio_stats.label_sets_active")
    private var reportKeys = PublishedGauge("istio_stats.report_keys_cached")
    private var peers = PublishedGauge("istio_stats.peers_cached")

    mutating func publish(expired count: Int, labelSets active: Int, reportKeys: Int, peers: Int) {
        if count > 0 { try? expired?.increment(by: Int64(count)) }
        labelSets.publish(active)
        self.reportKeys.publish(reportKeys)
        self.peers.publish(peers)
    }
}

/// One gauge this VM adds its share to.
struct PublishedGauge {
    private let metric: Metric?
    private var published = 0

    init(_ name: String) { metric = try? Metric.define(.gauge, name: name) }

    mutating func publish(_ value: Int) {
        if value != published { try? metric?.increment(by: Int64(value - published)) }
        published = value
    }
}

/// Decoded peers by the exact bytes they were decoded from. Bounded: past
/// 1024 peers it starts over (peers are re-decoded, nothing is lost); peers
/// larger than 4 KiB are decoded on every report instead of cached, so the
/// cache holds at most 1024 x 4 KiB whatever peers send (Istio's node
/// metadata makes ~1 KiB).
final class PeerLabelCache {
    static let limit = 1024
    static let bytesLimit = 4096
    /// Boxed, so the cache shares the Dictionary code of the module's other
    /// byte-keyed caches of objects.
    private var peers: [BytesKey: Box] = [:]
    private final class Box {
        let peer: ReportPeer
        init(_ peer: ReportPeer) { self.peer = peer }
    }
    /// Slots are never reused (shared by every cache), so a cached label set
    /// never outlives the meaning of its peer slot.
    nonisolated(unsafe) private static var lastSlot = 0

    var count: Int { peers.count }

    /// The peer decoded from exactly `bytes`, if cached.
    func known(_ bytes: [UInt8]) -> ReportPeer? { peers[BytesKey(bytes)]?.peer }

    /// Caches `labels` as decoded from `bytes` and returns the peer with its slot.
    func remember(_ bytes: [UInt8], labels: WorkloadLabels) -> ReportPeer {
        if bytes.count > Self.bytesLimit { return ReportPeer(labels: labels, slot: nil) }
        if peers.count >= Self.limit { peers.removeAll(keepingCapacity: true) }
        Self.lastSlot += 1
        let peer = ReportPeer(labels: labels, slot: Self.lastSlot)
        peers[BytesKey(bytes)] = Box(peer)
        return peer
    }

    /// Forgets every peer (they are decoded again, under new slots, when next reported).
    func removeAll() { peers.removeAll() }
}

/// The peer of one report: its workload labels, and its slot in the root's
/// peer cache (nil when it is too large to cache: such a report takes the
/// slow path every time).
struct ReportPeer {
    static let noPeerSlot = 0
    /// No peer: empty labels, the no-peer slot.
    static var none: ReportPeer { ReportPeer(labels: WorkloadLabels(), slot: noPeerSlot) }
    var labels: WorkloadLabels
    var slot: Int?
}

/// An encoded stat-name prefix as a dictionary key.
typealias StatNameKey = BytesKey

/// The plugin's entry points, for the module that links it
/// (Plugins/Modules: alone, or with the other plugin in one module).
public enum StatsPlugin {
    /// The callbacks the plugin handles (`ModuleExports`): request headers
    /// (gRPC, Host), response headers (a gRPC stream's periodic reports), the
    /// log (the report), ticks (TCP and gRPC reporting, expiry), and a
    /// connection's. Its module exports no body, trailer or `on_done` callback.
    public static let callbacks: Set<String> = ModuleExports.connectionCallbacks.union([
        "proxy_on_request_headers", "proxy_on_response_headers", "proxy_on_log", "proxy_on_tick",
    ])

    /// A root context for one plugin configuration.
    public static func makeRoot(id: UInt32) -> RootContext { StatsRoot(id: id) }

    /// Registers the plugin as the module's only one.
    public static func register() {
        ProxyWasm.setRootContextFactory { makeRoot(id: $0) }
    }
}
