import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// stats.wasm records a warm report straight to the metrics it defined for
/// the same peer and facts before. Any fact that changes must give its own
/// series: each is changed alone after warm-up, and every request must be
/// counted under exactly its own labels.
@Suite("stats.wasm label-set cache")
struct StatsLabelSetCacheTests {
    /// One variant of the base request: what changes, and the label that must show it.
    struct Variant: CustomTestStringConvertible {
        let name: String
        var authority = "reviews"
        var status = "200"
        var properties: [PropertyEntry] = []
        var peerWorkload = "productpage-v1"
        let expectedLabel: String
        var testDescription: String { name }
    }

    static func xds(_ entries: [PropertyEntry]) -> PropertyEntry { PropertyEntry("xds", .map(entries)) }

    static func service(_ name: String, host: String, cluster: String? = nil) -> PropertyEntry {
        xds(
            [
                PropertyEntry(
                    "cluster_metadata",
                    .map([
                        PropertyEntry(
                            "filter_metadata",
                            .map([
                                PropertyEntry(
                                    "istio",
                                    .map([
                                        PropertyEntry(
                                            "services", .list([.map([PropertyEntry("name", .string(name)), PropertyEntry("host", .string(host))])]))
                                    ]))
                            ]))
                    ]))
            ]
                + (cluster.map { [PropertyEntry("cluster_name", .string($0))] } ?? []))
    }

    static let variants: [Variant] = [
        Variant(name: "Host header", authority: "ratings", expectedLabel: "destination_service=.=ratings;.;"),
        Variant(name: "response code", status: "503", expectedLabel: "response_code=.=503;.;"),
        Variant(name: "peer", peerWorkload: "details-v1", expectedLabel: "source_workload=.=details-v1;.;"),
        Variant(
            name: "cluster and its service",
            properties: [service("details", host: "details.default.svc.cluster.local", cluster: "outbound|9080||details.default.svc.cluster.local")],
            expectedLabel: "destination_service_name=.=details;.;"),
        Variant(
            name: "route", properties: [xds([PropertyEntry("route_name", .string("allow_any"))])],
            expectedLabel: "destination_service_name=.=PassthroughCluster;.;"),
        Variant(
            name: "cluster", properties: [xds([PropertyEntry("cluster_name", .string("BlackHoleCluster"))])],
            expectedLabel: "destination_service_name=.=BlackHoleCluster;.;"),
        Variant(
            name: "peer principal",
            properties: [
                PropertyEntry(
                    "connection",
                    .map([
                        PropertyEntry("uri_san_peer_certificate", .string("spiffe://cluster.local/ns/default/sa/other"))
                    ]))
            ],
            expectedLabel: "source_principal=.=spiffe://cluster.local/ns/default/sa/other;.;"),
        Variant(
            name: "mTLS", properties: [PropertyEntry("connection", .map([PropertyEntry("mtls", .bool(true))]))],
            expectedLabel: "connection_security_policy=.=mutual_tls;.;"),
    ]

    func request(_ sidecar: StatsSidecar, _ variant: Variant?) {
        var node = PeerNode()
        node.workloadName = variant?.peerWorkload ?? "productpage-v1"
        node.namespace = "default"
        let stream = HttpStream(
            vm: sidecar.vm, root: sidecar.root, properties: variant?.properties ?? [],
            streamState: StatsSidecar.downstreamPeer(FlatNodeCodec.encode(node), id: node.workloadName!))
        stream.sendRequestHeaders([HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(":authority", variant?.authority ?? "reviews")])
        stream.sendResponseHeaders([HeaderPair(":status", variant?.status ?? "200")])
        stream.complete()
    }

    @Test(arguments: variants)
    func aChangedFactGetsItsOwnSeries(_ variant: Variant) throws {
        let sidecar = try StatsSidecar()
        for _ in 0..<3 { request(sidecar, nil) }
        request(sidecar, variant)
        request(sidecar, nil)
        request(sidecar, variant)
        let totals = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        #expect(totals.count == 2, "\(totals.map(\.name))")
        let changed = totals.filter { $0.name.contains(variant.expectedLabel) }
        #expect(changed.count == 1 && changed.first?.value == 2, "\(variant.name): \(totals.map { ($0.name, $0.value) })")
        #expect(totals.map(\.value).reduce(0, +) == 6)
        #expect(sidecar.vm.failure == nil)
    }

    /// A cluster's service is read once per cluster and tick: metadata that
    /// changes under the same cluster name shows from the next tick on.
    @Test func aClustersChangedServiceShowsAfterTheNextTick() throws {
        let sidecar = try StatsSidecar()
        let cluster = "inbound|9080||"
        func request(_ service: String) {
            self.request(
                sidecar,
                Variant(
                    name: "", properties: [Self.service(service, host: "\(service).default.svc.cluster.local", cluster: cluster)],
                    expectedLabel: ""))
        }
        request("reviews")
        request("ratings")  // same cluster name, within the tick: still reviews
        sidecar.proxy.advanceClock(byMilliseconds: 15_000)
        request("ratings")
        let totals = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        #expect(totals.first { $0.name.contains("destination_service_name=.=reviews;.;") }?.value == 2)
        #expect(totals.first { $0.name.contains("destination_service_name=.=ratings;.;") }?.value == 1)
        #expect(sidecar.vm.failure == nil)
    }

    /// Past its bound the cache starts over; every report is still counted
    /// under its own labels (and the bound on label sets still folds).
    @Test func theCacheStartingOverLosesNoReport() throws {
        let sidecar = try StatsSidecar(configuration: #"{"max_label_sets": 5}"#)
        // The cache holds 2 x 5 + 16 = 26 entries; 60 distinct hosts pass it twice.
        for round in 0..<2 {
            for host in 0..<60 { request(sidecar, Variant(name: "", authority: "host-\(host)", expectedLabel: "")) }
            #expect(sidecar.requestsTotal == UInt64(60 * (round + 1)))
        }
        let totals = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        #expect(totals.count == 6)  // 5 label sets and the overflow series
        #expect(totals.first { $0.name.contains("destination_service=.=overflow;.;") }?.value == 110)
        let folded = sidecar.proxy.stats.stat(named: "istio_stats.label_sets_folded")?.value
        #expect(folded == 110)
        #expect(sidecar.vm.failure == nil)
    }
}
