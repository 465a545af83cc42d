import Foundation
import ProxyWasmABI

/// Renders a `StatsStore` as Envoy's `/stats/prometheus` does: counters, then
/// gauges, then histograms; families sorted by tag-extracted name, series by
/// full stat name; the `wasmcustom.` namespace stripped without an `envoy_`
/// prefix; names sanitized to `[a-zA-Z0-9_]`; label values written as they
/// are (Envoy does not escape them). Checked against Envoy 1.40's output by
/// Tests/Envoy/test_prometheus_parity.py.
///
/// Histogram buckets and sums follow Envoy's log-linear arithmetic
/// (`LogLinearHistogram`), so they match Envoy's text, edges included.
public struct PrometheusRenderer {
    public let configuration: EnvoyStatsConfiguration
    let extractor: TagExtractor

    public init(configuration: EnvoyStatsConfiguration = EnvoyStatsConfiguration()) throws {
        self.configuration = configuration
        self.extractor = try TagExtractor(configuration.tags)
    }

    struct Series {
        let fullName: String
        let tags: [(String, String)]
        let stat: StatsStore.Stat
    }

    public func render(_ store: StatsStore) -> String {
        var output = ""
        for type in [MetricType.counter, .gauge, .histogram] {
            var families: [String: [Series]] = [:]
            for stat in store.stats where stat.type == type {
                let (extracted, tags) = extractor.extract(stat.name)
                families[extracted, default: []].append(Series(fullName: stat.name, tags: tags, stat: stat))
            }
            for extracted in families.keys.sorted(by: Self.statNameLess) {
                guard let metricName = Self.metricName(extracted) else { continue }
                output += "# TYPE \(metricName) \(Self.typeName(type))\n"
                for series in families[extracted]!.sorted(by: { Self.statNameLess($0.fullName, $1.fullName) }) {
                    output += type == .histogram ? histogram(series, metricName) : numeric(series, metricName)
                }
            }
        }
        return output
    }

    static func typeName(_ type: MetricType) -> String {
        switch type {
        case .counter: return "counter"
        case .gauge: return "gauge"
        case .histogram: return "histogram"
        }
    }

    /// Envoy's symbol-table order: dot-separated tokens compared in turn.
    static func statNameLess(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: ".", omittingEmptySubsequences: false)
        let right = rhs.split(separator: ".", omittingEmptySubsequences: false)
        for (a, b) in zip(left, right) where a != b { return a < b }
        return left.count < right.count
    }

    /// `wasmcustom.x` -> sanitized `x` (dropped if empty or starting with a
    /// digit); anything else -> `envoy_` + sanitized name.
    static func metricName(_ extracted: String) -> String? {
        let prefix = StatsStore.namespace + "."
        if extracted.hasPrefix(prefix) {
            let name = sanitize(String(extracted.dropFirst(prefix.count)))
            guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return nil }
            return name
        }
        return "envoy_" + sanitize(extracted)
    }

    static func sanitize(_ name: String) -> String {
        String(
            decoding: name.utf8.map { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
                    ? byte : 0x5F
            }, as: UTF8.self)
    }

    static func formattedTags(_ tags: [(String, String)]) -> String {
        tags.map { "\(sanitize($0.0))=\"\($0.1)\"" }.joined(separator: ",")
    }

    func numeric(_ series: Series, _ name: String) -> String {
        "\(name){\(Self.formattedTags(series.tags))} \(series.stat.value)\n"
    }

    func histogram(_ series: Series, _ name: String) -> String {
        let tags = Self.formattedTags(series.tags)
        let prefix = series.tags.isEmpty ? "" : tags + ","
        let histogram = LogLinearHistogram(samples: series.stat.samples)
        var text = ""
        for bucket in configuration.buckets(for: series.fullName) {
            text += "\(name)_bucket{\(prefix)le=\"\(Self.format(bucket))\"} \(histogram.count(atOrBelow: bucket))\n"
        }
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)\n"
        text += "\(name)_sum{\(tags)} \(Self.format(histogram.sum))\n"
        text += "\(name)_count{\(tags)} \(histogram.count)\n"
        return text
    }

    /// Envoy prints bucket bounds and sums with fmt's `{:.32g}`.
    static func format(_ value: Double) -> String { String(format: "%.32g", value) }
}
