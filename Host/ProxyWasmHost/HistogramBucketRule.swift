import Foundation
import ProxyWasmABI

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
