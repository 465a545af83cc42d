import Foundation
import ProxyWasmABI

/// The part of Envoy's `stats_config` that shapes `/stats/prometheus`.
public struct EnvoyStatsConfiguration: Sendable, Equatable {
    /// Envoy's default histogram buckets.
    public static let envoyDefaultBuckets: [Double] = [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1_800_000, 3_600_000,
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
