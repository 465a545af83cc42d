import ProxyWasmABI
import ProxyWasmHost
import Testing

/// Envoy's conversion of stream callbacks' return values, on plain values.
@Suite struct CallbackResultsTests {
    @Test func headersContinueOnlyOnContinueOrContinueAndEndStream() {
        let converted = (0...6).map { CallbackResults.headers(UInt32($0), sentLocalReply: false) }
        #expect(
            converted == [
                .continue, .stopAllIterationAndWatermark, .continue, .stopAllIterationAndBuffer, .stopAllIterationAndWatermark,
                .stopAllIterationAndWatermark, .stopAllIterationAndWatermark,
            ])
    }

    @Test func dataKeepsTheABIsValuesAndStopsOutsideThem() {
        let converted = (0...5).map { CallbackResults.data(UInt32($0), sentLocalReply: false) }
        #expect(
            converted == [
                .continue, .stopIterationAndBuffer, .stopIterationAndWatermark, .stopIterationNoBuffer, .stopIterationNoBuffer,
                .stopIterationNoBuffer,
            ]
        )
    }

    @Test func trailersContinueOnlyOnContinue() {
        let converted = (0...2).map { CallbackResults.trailers(UInt32($0), sentLocalReply: false) }
        #expect(converted == [.continue, .stopIteration, .stopIteration])
    }

    @Test func aMissingCallbackContinues() {
        #expect(CallbackResults.headers(nil, sentLocalReply: false) == .continue)
        #expect(CallbackResults.data(nil, sentLocalReply: false) == .continue)
        #expect(CallbackResults.trailers(nil, sentLocalReply: false) == .continue)
    }

    @Test func aLocalReplyStopsWhateverTheCallbackReturned() {
        #expect(CallbackResults.headers(0, sentLocalReply: true) == .stopAllIterationAndWatermark)
        #expect(CallbackResults.data(0, sentLocalReply: true) == .stopIterationNoBuffer)
        #expect(CallbackResults.trailers(0, sentLocalReply: true) == .stopIteration)
    }
}
