import ProxyWasmHost
import Testing

/// Envoy's call-out token numbering on plain values, without a module.
@Suite struct CalloutTokensTests {
    @Test func eachKindCountsInStepsOfFourFromItsOwnStart() {
        var tokens = CalloutTokens()
        let issued = [CalloutKind.httpCall, .grpcCall, .httpCall, .grpcStream, .grpcStream, .grpcCall].map { tokens.issue($0) }
        #expect(issued == [4, 5, 8, 6, 10, 9])
    }

    @Test func aTokenNamesItsKind() {
        #expect(CalloutKind(token: 8) == .httpCall)
        #expect(CalloutKind(token: 9) == .grpcCall)
        #expect(CalloutKind(token: 10) == .grpcStream)
        #expect(CalloutKind(token: 11) == nil)
    }
}
