import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import Testing

@testable import Stats

/// The peer istiod describes in an endpoint's `istio.workload` metadata, used
/// when no metadata exchange happened.
@Suite("Endpoint workload metadata")
struct EndpointPeerTests {
    @Test func fieldsAreTheSemicolonSeparatedParts() throws {
        let peer = try #require(StreamReporter.endpointPeer("reviews-v2;bookinfo;reviews;v2;Kubernetes"))
        #expect(peer.workloadName == "reviews-v2")
        #expect(peer.namespace == "bookinfo")
        #expect(peer.label("service.istio.io/canonical-name") == "reviews")
        #expect(peer.label("service.istio.io/canonical-revision") == "v2")
        #expect(peer.clusterID == "Kubernetes")
    }

    @Test func emptyPartsGiveNoLabelAndTooFewPartsNoPeer() throws {
        let peer = try #require(StreamReporter.endpointPeer("w;ns;;"))
        #expect(peer.labels == [])
        #expect(peer.clusterID == nil)
        #expect(StreamReporter.endpointPeer("w;ns;svc") == nil)
        #expect(StreamReporter.endpointPeer("") == nil)
    }

    /// A separator followed by a combining mark still separates (bytes, as istiod writes them).
    @Test func aCombiningMarkAfterASeparatorDoesNotHideIt() throws {
        let peer = try #require(StreamReporter.endpointPeer("w;\u{301}ns;svc;rev"))
        #expect(peer.namespace == "\u{301}ns")
    }
}

/// The same metadata, hostile shapes included, read by stats.wasm in the host
/// (32-bit `Int`): every request is counted, none traps.
@Suite("Endpoint workload metadata in stats.wasm")
struct EndpointPeerModuleTests {
    static func endpoint(_ workload: PropertyNode) -> [PropertyEntry] {
        [
            PropertyEntry(
                "xds",
                .map([
                    PropertyEntry(
                        "upstream_host_metadata",
                        .map([PropertyEntry("filter_metadata", .map([PropertyEntry("istio", .map([PropertyEntry("workload", workload)]))]))]))
                ]))
        ]
    }

    @Test func hostileWorkloadTextIsCountedWithoutATrap() throws {
        let sidecar = try StatsSidecar(inbound: false)
        let values: [PropertyNode] = [
            .string("w;\u{301}ns;svc;rev"), .string(""), .string(String(repeating: ";", count: 10_000)),
            .string(String(repeating: "a", count: 100_000) + ";b;c;d"), .bytes([0xFF, 0x3B, 0xC3, 0x3B, 0x3B]),
        ]
        for value in values {
            let stream = HttpStream(vm: sidecar.vm, root: sidecar.root, properties: Self.endpoint(value))
            stream.sendRequestHeaders([HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(":authority", "reviews")])
            stream.sendResponseHeaders([HeaderPair(":status", "200")])
            stream.complete()
        }
        #expect(sidecar.vm.failure == nil)
        #expect(sidecar.requestsTotal == UInt64(values.count))
        #expect(try sidecar.prometheus().contains("destination_workload_namespace=\"\u{301}ns\""))
    }
}
