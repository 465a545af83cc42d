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

    private var statsByName: [String: Stat] = [:]
    private var statsByID: [UInt32: Stat] = [:]
    private var nextIndex: UInt32 = 1
    /// Names in definition order, for stable output.
    public private(set) var definitionOrder: [String] = []

    public init() {}

    /// Every stat, in definition order.
    public var stats: [Stat] { definitionOrder.compactMap { statsByName[$0] } }

    /// The stat called `wasmcustom.<name>`.
    public func stat(named name: String) -> Stat? { statsByName[Self.namespace + "." + name] }

    /// `proxy_define_metric`: `nil` for an invalid type (BadArgument).
    public func define(_ rawType: UInt32, name: String) -> UInt32? {
        guard let type = MetricType(rawValue: rawType) else { return nil }
        let fullName = Self.namespace + "." + name
        let stat: Stat
        if let existing = statsByName[fullName] {
            stat = existing
        } else {
            stat = Stat(name: fullName, type: type)
            statsByName[fullName] = stat
            definitionOrder.append(fullName)
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
