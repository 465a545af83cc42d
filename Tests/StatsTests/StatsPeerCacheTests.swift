import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// stats.wasm decodes a peer's metadata once and reuses it; the reuse must
/// never hide a peer whose metadata changed under the same id.
@Suite("stats.wasm peer cache")
struct StatsPeerCacheTests {
    @Test func aPeerWhoseMetadataChangesUnderTheSameIDIsDecodedAgain() throws {
        let proxy = Sidecar.proxy("client", metadata: "client_node_metadata.rendered.json", direction: .outbound)
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        let root = try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_outbound"))
        func request(workload: String) {
            var node = PeerNode()
            node.workloadName = workload
            node.namespace = "default"
            let state = StreamState()
            state.filterState["wasm.upstream_peer_id"] = Array("server".utf8)
            state.filterState["wasm.upstream_peer"] = FlatNodeCodec.encode(node)
            let stream = HttpStream(vm: vm, root: root, streamState: state)
            stream.sendRequestHeaders([HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(":authority", "server")])
            stream.sendResponseHeaders([HeaderPair(":status", "200")])
            stream.complete()
        }
        for workload in ["ratings-v1", "ratings-v1", "ratings-v2", "ratings-v1"] { request(workload: workload) }
        let totals = proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        func count(_ workload: String) -> UInt64? {
            totals.first { $0.name.contains("destination_workload=.=\(workload);.;") }?.value
        }
        #expect(count("ratings-v1") == 3)
        #expect(count("ratings-v2") == 1)
        #expect(totals.count == 2)
        #expect(vm.failure == nil)
    }

    /// Peers too large to cache (FlatNode over 4 KiB) are decoded on every
    /// report, so the cache's memory stays bounded whatever peers send. Seen
    /// in the cost of a steady-state report: a cached peer costs a byte
    /// comparison, an uncached one a full decode.
    @Test func largePeersAreDecodedEachTimeInsteadOfCached() throws {
        let sidecar = try StatsSidecar()
        let guest = try #require(sidecar.vm.guest as? WasmKitGuest)
        func steadyCost(_ workload: String, padding: Int) -> UInt64 {
            var node = PeerNode()
            node.workloadName = workload
            node.labels = [KeyValue("app", "a"), KeyValue("padding", String(repeating: "p", count: padding))]
            let bytes = FlatNodeCodec.encode(node)
            for _ in 0..<2 { sidecar.request(state: StatsSidecar.downstreamPeer(bytes, id: workload)) }
            let before = guest.costs
            sidecar.request(state: StatsSidecar.downstreamPeer(bytes, id: workload))
            return guest.costs.reduce(0) { $0 + $1.value.since(before[$1.key]).operators }
        }
        let cachedLarge = steadyCost("cached", padding: 3900)  // FlatNode just under 4 KiB
        let uncachedLarge = steadyCost("uncached", padding: 4200)  // just over
        print("steady report: \(cachedLarge) operators with a cached 4 KiB peer, \(uncachedLarge) with an uncached one")
        #expect(uncachedLarge > cachedLarge + 20_000)
        let totals = sidecar.proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        #expect(totals.first { $0.name.contains("source_workload=.=uncached;.;") }?.value == 3)
        #expect(sidecar.vm.failure == nil)
    }
}
