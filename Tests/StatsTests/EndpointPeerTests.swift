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
