import ProxyWasmABI
import Testing

@testable import ProxyWasmHost

/// Envoy's log-linear histogram arithmetic. Expected strings are what Envoy
/// 1.40 printed for one sample each (`_sum` lines of /stats/prometheus).
@Suite("Prometheus histograms as Envoy computes them")
struct PrometheusHistogramTests {
    static let envoySums: [(UInt64, String)] = [
        (1, "1.0476190476190476719153821250075"),
        (5, "5.049504950495049548919723747531"),
        (7, "7.0496453900709221684905969596002"),
        (10, "10.476190476190476275064611400012"),
        (125, "124.7999999999999971578290569596"),
        (1004, "1047.6190476190477056661620736122"),
        (60000, "60495.867768595038796775043010712"),
        (123456, "124800"),
    ]

    @Test(arguments: envoySums.indices)
    func oneSampleSumsAsEnvoyPrintsIt(_ index: Int) {
        let (sample, expected) = Self.envoySums[index]
        #expect(PrometheusRenderer.format(LogLinearHistogram(samples: [sample]).sum) == expected)
    }

    @Test func binsHaveTwoSignificantDigits() {
        #expect(LogLinearHistogram.Bin(0) == LogLinearHistogram.Bin(0))
        #expect(LogLinearHistogram.Bin(7).lowerEdge == 7)
        #expect(LogLinearHistogram.Bin(1004) == LogLinearHistogram.Bin(1099))
        #expect(LogLinearHistogram.Bin(1004) != LogLinearHistogram.Bin(1100))
        #expect(LogLinearHistogram.Bin(123_456).lowerEdge == 120_000)
        #expect(LogLinearHistogram.Bin(0) < LogLinearHistogram.Bin(1) && LogLinearHistogram.Bin(99) < LogLinearHistogram.Bin(100))
    }

    @Test func bucketsCountBinsByTheirLowerEdge() {
        let histogram = LogLinearHistogram(samples: [0, 1, 5, 1004, 1004, 1100])
        #expect(histogram.count(atOrBelow: 0.5) == 1)
        #expect(histogram.count(atOrBelow: 1) == 2)
        #expect(histogram.count(atOrBelow: 1000) == 5)  // 1004 counts under 1000, as in Envoy
        #expect(histogram.count(atOrBelow: 1099) == 5)
        #expect(histogram.count == 6)
    }

    /// The sum is 994/141 + 22000/21 added as doubles (the measured sums above).
    @Test func theRendererUsesEnvoysArithmetic() throws {
        let store = StatsStore()
        let id = try #require(store.define(MetricType.histogram.rawValue, name: "latency"))
        for sample: UInt64 in [7, 1004] { _ = store.record(id, value: sample) }
        let text = try PrometheusRenderer(
            configuration: EnvoyStatsConfiguration(histogramBuckets: [
                HistogramBucketRule(prefix: "wasmcustom.latency", buckets: [5, 1000])
            ])
        ).render(store)
        #expect(
            text == """
                # TYPE latency histogram
                latency_bucket{le="5"} 0
                latency_bucket{le="1000"} 2
                latency_bucket{le="+Inf"} 2
                latency_sum{} 1054.6686930091186695790383964777
                latency_count{} 2

                """)
    }
}
