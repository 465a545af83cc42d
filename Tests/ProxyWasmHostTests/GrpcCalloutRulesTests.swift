import ProxyWasmABI
import ProxyWasmHost
import Testing

/// Envoy's gRPC call-out rules on plain values, without a module.
@Suite struct GrpcCalloutRulesTests {
    /// `GrpcService{envoy_grpc{cluster_name}}` in protobuf wire format.
    func grpcService(cluster: String) -> [UInt8] {
        let name = Array(cluster.utf8)
        let inner: [UInt8] = [0x0A, UInt8(name.count)] + name
        return [0x0A, UInt8(inner.count)] + inner
    }

    @Test func aSerializedGrpcServiceNamesItsEnvoyGrpcCluster() {
        #expect(GrpcCalloutRules.upstream(grpcService(cluster: "authz")) == .cluster("authz"))
    }

    @Test func bytesThatAreNotAGrpcServiceAreAClusterName() {
        #expect(GrpcCalloutRules.upstream(Array("outbound|9000||authz".utf8)) == .cluster("outbound|9000||authz"))
    }

    @Test func aGrpcServiceWithoutEnvoyGrpcIsUnsupported() {
        // Field 2 (google_grpc) only.
        #expect(GrpcCalloutRules.upstream([0x12, 0x02, 0x0A, 0x00]) == .unsupportedService)
    }

    @Test func aUnaryCallEndsWithItsFirstMessageAndDropsMetadata() {
        let reply = GrpcCalloutReply(
            [.initialMetadata([HeaderPair("a", "1")]), .message([1, 2]), .close(status: 0, message: "")], latencyMilliseconds: 7)
        #expect(GrpcCalloutRules.unaryOutcome(reply, timeout: 0) == .success([1, 2], latencyMilliseconds: 7))
    }

    @Test func aUnaryCallEndsWithTheFirstNonOKClose() {
        let reply = GrpcCalloutReply([.close(status: 7, message: "denied"), .message([1])])
        #expect(GrpcCalloutRules.unaryOutcome(reply, timeout: 0) == .failure(status: 7, message: "denied"))
    }

    @Test func anOKCloseWithoutAMessageIsInternal() {
        let reply = GrpcCalloutReply([.close(status: 0, message: "")], latencyMilliseconds: 3)
        #expect(GrpcCalloutRules.unaryOutcome(reply, timeout: 0) == .failure(status: 13, latencyMilliseconds: 3))
    }

    @Test func aReplySlowerThanTheTimeoutIsTheRoutersTimeout() {
        let slow = GrpcCalloutReply.success([1], latencyMilliseconds: 200)
        #expect(
            GrpcCalloutRules.unaryOutcome(slow, timeout: 100)
                == .failure(status: 14, message: "upstream request timeout{response_timeout}", latencyMilliseconds: 100))
        #expect(GrpcCalloutRules.unaryOutcome(slow, timeout: 200) == slow)
    }

    @Test func statusMessagesCarryTheDetailsInBraces() {
        #expect(GrpcCalloutRules.statusMessage("denied", details: "via_upstream") == "denied{via_upstream}")
        #expect(GrpcCalloutRules.statusMessage("", details: "via_upstream") == "via_upstream")
        #expect(GrpcCalloutRules.statusMessage("denied", details: "") == "denied")
    }

    @Test func everyCloseFromTheUpstreamIsMarkedViaUpstream() {
        let reply = GrpcCalloutReply([.message([1]), .close(status: 0, message: "")], latencyMilliseconds: 5)
        #expect(
            GrpcCalloutRules.viaUpstream(reply)
                == GrpcCalloutReply([.message([1]), .close(status: 0, message: "via_upstream")], latencyMilliseconds: 5))
    }
}
