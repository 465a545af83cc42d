import Foundation
import ProxyWasmABI

/// One `stats_config.stats_tags` entry: the first capture group is cut out of
/// the stat name, the second (or the first, if there is one) is the label value.
public struct StatsTagRule: Sendable, Equatable {
    public let name: String
    public let pattern: String

    public init(name: String, pattern: String) {
        self.name = name
        self.pattern = pattern
    }
}

/// Histogram buckets for the stats a matcher selects by their full name, tags
/// included (one `stats_config.histogram_bucket_settings` entry). Envoy
/// sorts the bounds and uses the first entry that matches.
public struct HistogramBucketRule: Sendable, Equatable {
    /// Envoy's `StringMatcher`, in the two forms bucket settings use.
    public enum Match: Sendable, Equatable {
        case prefix(String)
        /// `safe_regex`: the whole name must match (RE2 full match).
        case regex(String)
    }

    public let match: Match
    public let buckets: [Double]

    public init(match: Match, buckets: [Double]) {
        self.match = match
        self.buckets = buckets.sorted()
    }

    public init(prefix: String, buckets: [Double]) {
        self.init(match: .prefix(prefix), buckets: buckets)
    }

    func matches(_ name: String) -> Bool {
        switch match {
        case let .prefix(prefix): return name.hasPrefix(prefix)
        case let .regex(pattern):
            guard let regex = try? Regex(pattern).matchingSemantics(.unicodeScalar) else { return false }
            return (try? regex.wholeMatch(in: name)) != nil
        }
    }
}

/// The part of Envoy's `stats_config` that shapes `/stats/prometheus`.
public struct EnvoyStatsConfiguration: Sendable, Equatable {
    /// Envoy's default histogram buckets.
    public static let envoyDefaultBuckets: [Double] = [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
    ]

    public var tags: [StatsTagRule]
    public var histogramBuckets: [HistogramBucketRule]

    public init(tags: [StatsTagRule] = [], histogramBuckets: [HistogramBucketRule] = []) {
        self.tags = tags
        self.histogramBuckets = histogramBuckets
    }

    func buckets(for name: String) -> [Double] {
        histogramBuckets.first { $0.matches(name) }?.buckets ?? Self.envoyDefaultBuckets
    }
}

/// A `stats_tags` regex that does not compile.
public struct StatsTagError: Error, CustomStringConvertible {
    public let tag: String
    public let pattern: String
    public let reason: String
    public var description: String { "stats_tags entry \(tag): invalid regex \(pattern): \(reason)" }
}

/// Envoy's tag extraction: every rule is matched against the full stat name
/// in order; the characters of each rule's first capture are removed from the
/// name, its value capture becomes a tag.
public struct TagExtractor {
    struct Compiled {
        let name: String
        let regex: Regex<AnyRegexOutput>
    }

    let rules: [Compiled]

    public init(_ rules: [StatsTagRule]) throws {
        var compiled: [Compiled] = []
        for rule in rules {
            do {
                // Scalar semantics: Envoy's regex engines see bytes, not
                // grapheme clusters (a combining mark after `=` must not hide it).
                compiled.append(Compiled(name: rule.name, regex: try Regex(rule.pattern).matchingSemantics(.unicodeScalar)))
            } catch {
                throw StatsTagError(tag: rule.name, pattern: rule.pattern, reason: "\(error)")
            }
        }
        self.rules = compiled
    }

    /// The tag-extracted name and the tags, in rule order.
    public func extract(_ name: String) -> (name: String, tags: [(String, String)]) {
        var tags: [(String, String)] = []
        var removed: [Range<String.Index>] = []
        var taken: Set<String> = []
        for rule in rules where !taken.contains(rule.name) {
            guard let match = name.firstMatch(of: rule.regex), match.output.count >= 2,
                  let cut = match.output[1].range else { continue }
            let valueIndex = match.output.count >= 3 ? 2 : 1
            let value = match.output[valueIndex].substring.map(String.init) ?? ""
            tags.append((rule.name, value))
            taken.insert(rule.name)
            removed.append(cut)
        }
        if removed.isEmpty { return (name, tags) }
        var result = String.UnicodeScalarView()
        var index = name.unicodeScalars.startIndex
        while index < name.unicodeScalars.endIndex {
            if !removed.contains(where: { $0.contains(index) }) { result.append(name.unicodeScalars[index]) }
            index = name.unicodeScalars.index(after: index)
        }
        return (String(result), tags)
    }
}

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
        String(decoding: name.utf8.map { byte in
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
