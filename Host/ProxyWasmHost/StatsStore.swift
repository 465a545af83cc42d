import ProxyWasmABI

/// Metrics as Envoy keeps Wasm-defined stats: every `proxy_define_metric`
/// creates the stat `wasmcustom.<name>` (or finds it) and hands out a NEW id,
/// `(n << 2) | type`; the store is shared by every VM of a proxy, so counters
/// from several plugins and workers add up.
public final class StatsStore {
    /// A metric series, keyed by its full Envoy stat name.
    public final class Stat {
        public let name: String
        public let type: MetricType
        public fileprivate(set) var value: UInt64 = 0
        /// Histogram samples, in order.
        public fileprivate(set) var samples: [UInt64] = []

        init(name: String, type: MetricType) {
            self.name = name
            self.type = type
        }
    }

    /// Envoy's custom stat namespace for Wasm metrics.
    public static let namespace = "wasmcustom"

    /// Keyed by the name's UTF-8 bytes, as Envoy's stat store keys them:
    /// String equality would merge canonically equivalent names (a label
    /// value precomposed and decomposed) that Envoy and Prometheus keep apart.
    private var statsByName: [[UInt8]: Stat] = [:]
    private var statsByID: [UInt32: Stat] = [:]
    private var nextIndex: UInt32 = 1

    public init() {}

    /// Every stat, in definition order (stable output).
    public private(set) var stats: [Stat] = []

    /// The stat called `wasmcustom.<name>`.
    public func stat(named name: String) -> Stat? { statsByName[Array((Self.namespace + "." + name).utf8)] }

    /// `proxy_define_metric`: `nil` for an invalid type (BadArgument).
    public func define(_ rawType: UInt32, name: String) -> UInt32? {
        guard let type = MetricType(rawValue: rawType) else { return nil }
        let fullName = Self.namespace + "." + name
        let stat: Stat
        let key = Array(fullName.utf8)
        if let existing = statsByName[key] {
            stat = existing
        } else {
            stat = Stat(name: fullName, type: type)
            statsByName[key] = stat
            stats.append(stat)
        }
        let id = nextIndex << 2 | type.rawValue
        nextIndex += 1
        statsByID[id] = stat
        return id
    }

    /// `proxy_increment_metric` with Envoy's rules: counters reject
    /// `delta <= 0`; gauges add or subtract; histograms are BadArgument.
    public func increment(_ id: UInt32, by delta: Int64) -> WasmResult {
        switch id & 3 {
        case MetricType.counter.rawValue:
            guard let stat = statsByID[id] else { return .notFound }
            guard delta > 0 else { return .badArgument }
            stat.value &+= UInt64(delta)
        case MetricType.gauge.rawValue:
            guard let stat = statsByID[id] else { return .notFound }
            if delta > 0 { stat.value &+= UInt64(delta) } else { stat.value &-= delta.magnitude }
        default:
            return .badArgument
        }
        return .ok
    }

    /// `proxy_record_metric`: counters add, gauges set, histograms record.
    public func record(_ id: UInt32, value: UInt64) -> WasmResult {
        switch id & 3 {
        case MetricType.counter.rawValue:
            guard let stat = statsByID[id] else { return .notFound }
            stat.value &+= value
        case MetricType.gauge.rawValue:
            guard let stat = statsByID[id] else { return .notFound }
            stat.value = value
        case MetricType.histogram.rawValue:
            guard let stat = statsByID[id] else { return .notFound }
            stat.samples.append(value)
        default:
            return .badArgument
        }
        return .ok
    }

    /// `proxy_get_metric`: counters and gauges only.
    public func get(_ id: UInt32) -> (WasmResult, UInt64) {
        switch id & 3 {
        case MetricType.counter.rawValue, MetricType.gauge.rawValue:
            guard let stat = statsByID[id] else { return (.notFound, 0) }
            return (.ok, stat.value)
        default:
            return (.badArgument, 0)
        }
    }

    /// The name a trace shows for a metric id.
    public func name(of id: UInt32) -> String? {
        guard let stat = statsByID[id] else { return nil }
        return String(stat.name.dropFirst(Self.namespace.count + 1))
    }
}
