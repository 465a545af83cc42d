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
    /// The names' bytes in ascending byte order, each metric at its name's
    /// index: a binary search per lookup. A sorted array, not a Dictionary:
    /// each Dictionary specialization adds ~4 KB of code to a module, and
    /// names are compared as bytes (hashing a `String` would normalize it).
    private var names: [[UInt8]] = []
    private var metrics: [Metric] = []

    public init() {}

    /// How many distinct metrics this cache has defined.
    public var count: Int { metrics.count }

    /// The metric called `name`, defining it on first use.
    public func metric(_ type: MetricType, _ name: String) throws(HostError) -> Metric {
        let key = Array(name.utf8)
        let index = insertionIndex(of: key)
        if index < names.count && names[index] == key { return metrics[index] }
        let metric = try Metric.define(type, name: name)
        names.insert(key, at: index)
        metrics.insert(metric, at: index)
        return metric
    }

    /// Forgets every id (for example after a reconfiguration that renames metrics).
    public func removeAll() {
        names.removeAll()
        metrics.removeAll()
    }

    /// The first index whose name does not order before `key`.
    private func insertionIndex(of key: [UInt8]) -> Int {
        var low = 0
        var high = names.count
        while low < high {
            let middle = low + (high - low) / 2
            if Self.orders(names[middle], before: key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func orders(_ a: [UInt8], before b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        for index in 0..<common where a[index] != b[index] { return a[index] < b[index] }
        return a.count < b.count
    }
}
