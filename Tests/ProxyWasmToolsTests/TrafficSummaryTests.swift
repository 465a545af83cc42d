import Foundation
import ProxyWasmTestSupport
import ProxyWasmTools
import Testing

/// `run`'s per-proxy traffic table, read from the Prometheus text.
@Suite("Traffic summary")
struct TrafficSummaryTests {
    static let text = """
        # TYPE istio_requests_total counter
        istio_requests_total{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="http"} 3
        istio_requests_total{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="grpc"} 2
        istio_requests_total{reporter="source",source_workload="we\\"b",destination_workload="api-v1",destination_service_name="api",response_code="503"} 1
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="http",le="1"} 1
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="http",le="10"} 3
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="http",le="+Inf"} 3
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="grpc",le="1"} 2
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="grpc",le="10"} 2
        istio_request_duration_milliseconds_bucket{reporter="source",source_workload="web",destination_workload="unknown",destination_service_name="cart",response_code="200",request_protocol="grpc",le="+Inf"} 2
        """

    @Test func seriesThatDifferOnlyInOtherLabelsAddUpWithTheirHistograms() throws {
        let rows = TrafficSummary(prometheus: Self.text).rows
        #expect(rows.count == 2)
        let cart = try #require(rows.first)
        #expect(cart.source == "web" && cart.destination == "cart" && cart.code == "200" && cart.requests == 5)
        // Cumulative counts over both series: le=1 -> 1 + 2, le=10 -> 3 + 2, +Inf -> 5 of 5.
        #expect(cart.percentiles?.p50 == 1 && cart.percentiles?.p90 == 10 && cart.percentiles?.p99 == 10)
        let api = try #require(rows.last)
        #expect(api.source == "we\"b" && api.destination == "api-v1" && api.code == "503" && api.percentiles == nil)
        let table = TrafficSummary(prometheus: Self.text).text
        #expect(table.contains("web -> cart") && table.contains("≤1 ") && table.contains("≤10"))
        #expect(TrafficSummary(prometheus: "# nothing\n").text == "")
    }

    @Test func theMeshScenarioTableCountsEveryRequest() throws {
        let runner = try ScenarioRunner(scenario: try meshScenario())
        runner.run()
        for (proxy, text) in runner.prometheus() {
            let rows = TrafficSummary(prometheus: text).rows
            #expect(rows.map(\.code) == ["200", "404"], "\(proxy)")
            #expect(rows.map(\.requests) == [3, 1], "\(proxy)")
            #expect(rows.allSatisfy { $0.source == "productpage-v1" && $0.destination == "reviews-v2" && $0.percentiles != nil })
        }
    }
}
