// Metrics: counters, gauges and histograms in the host's stats store.
// Envoy hands out a NEW id for every `proxy_define_metric` call, even for the
// same name, so `MetricCache` defines each name once per VM.

/// A defined metric.
public struct Metric: Equatable, Sendable {
    public let id: UInt32
    public let type: MetricType

    public init(id: UInt32, type: MetricType) {
        self.id = id
        self.type = type
    }

    /// Defines a metric (`wasmcustom.<name>` in Envoy). Prefer `MetricCache`.
    public static func define(_ type: MetricType, name: String) throws(HostError) -> Metric {
        var id: UInt32 = 0
        try check(withUTF8Bytes(name) { proxy_define_metric(type.rawValue, $0.baseAddress, $0.count, &id) })
        return Metric(id: id, type: type)
    }

    /// Adds `delta` (counters reject `delta <= 0` in Envoy; gauges accept negatives).
    public func increment(by delta: Int64 = 1) throws(HostError) {
        try check(proxy_increment_metric(id, delta))
    }

    /// Records a histogram sample, sets a gauge, or adds to a counter.
    public func record(_ value: UInt64) throws(HostError) {
        try check(proxy_record_metric(id, value))
    }

    /// The current value of a counter or gauge.
    public func value() throws(HostError) -> UInt64 {
        var value: UInt64 = 0
        try check(proxy_get_metric(id, &value))
        return value
    }
}

/// Defines each metric name once and remembers its id.
public final class MetricCache {
    /// Keyed by the name's bytes: hashing a `String` normalizes it, which
    /// would link the stdlib's Unicode tables into every module.
    private var metrics: [[UInt8]: Metric] = [:]

    public init() {}

    /// How many distinct metrics this cache has defined.
    public var count: Int { metrics.count }

    /// The metric called `name`, defining it on first use.
    public func metric(_ type: MetricType, _ name: String) throws(HostError) -> Metric {
        let key = Array(name.utf8)
        if let metric = metrics[key] { return metric }
        let metric = try Metric.define(type, name: name)
        metrics[key] = metric
        return metric
    }

    /// Forgets every id (for example after a reconfiguration that renames metrics).
    public func removeAll() { metrics.removeAll() }
}
