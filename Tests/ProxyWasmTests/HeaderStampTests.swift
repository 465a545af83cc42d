import Testing

@testable import HeaderStamp
@testable import ProxyWasm

/// The example plugin's logic, run natively through the dispatcher with the
/// same callback order Envoy uses.
extension NativeHostSuites {
    @Suite("HeaderStamp example (native)", .serialized)
    struct HeaderStampTests {
        let host = RecordingHost()
        let dispatcher = Dispatcher.shared

        init() {
            NativeHostBridge.install(host)
            dispatcher.reset()
            HeaderStampPlugin.register()
            host.setProperty(["xds", "node", "metadata", "NAME"], Array("productpage-v1".utf8))
            dispatcher.onContextCreate(1, 0)
        }

        private func configure(_ json: String) -> Bool {
            host.buffers[BufferType.pluginConfiguration.rawValue] = Array(json.utf8)
            return dispatcher.onConfigure(1, UInt32(json.utf8.count)) == 1
        }

        private func request(_ id: UInt32, path: String) -> (request: UInt32, response: UInt32) {
            host.headerMaps = [
                HeaderMapType.httpRequestHeaders.rawValue: [HeaderPair(":path", path)],
                HeaderMapType.httpResponseHeaders.rawValue: [HeaderPair(":status", "200")],
            ]
            dispatcher.onContextCreate(id, 1)
            let request = dispatcher.onRequestHeaders(id, 1, 1)
            let response = dispatcher.onResponseHeaders(id, 1, 1)
            dispatcher.onLog(id)
            _ = dispatcher.onDone(id)
            dispatcher.onDelete(id)
            return (request, response)
        }

        @Test func stampsResponsesWithTheValueAndTheNodeName() {
            #expect(configure(#"{"header": "x-stamp", "value": "v7"}"#))
            let result = request(2, path: "/reviews")
            #expect(result.request == FilterHeadersStatus.continue.rawValue)
            #expect(host.headers(.httpResponseHeaders).contains(HeaderPair("x-stamp", "v7; node=productpage-v1")))
            #expect(host.metric(StampMetrics.requests) == 1)
        }

        @Test func fallsBackToTheBareNodePropertyOfOlderEnvoy() {
            host.properties.removeAll()
            host.setProperty(["node", "metadata", "NAME"], Array("legacy-pod".utf8))
            #expect(configure("{}"))
            _ = request(2, path: "/")
            #expect(host.headers(.httpResponseHeaders).contains(HeaderPair("x-swift-stamp", "swift; node=legacy-pod")))
        }

        @Test func deniesTheConfiguredPrefixWithALocal403() {
            #expect(configure(#"{"deny_path_prefix": "/admin"}"#))
            let denied = request(2, path: "/admin/users")
            #expect(denied.request == FilterHeadersStatus.stopIteration.rawValue)
            #expect(host.localResponse?.status == 403)
            #expect(host.localResponse?.details == "header_stamp_denied")
            host.localResponse = nil
            _ = request(3, path: "/adm")
            #expect(host.localResponse == nil)
            #expect(host.metric(StampMetrics.requests) == 2)
            #expect(host.metric(StampMetrics.denied) == 1)
        }

        static let badConfigurations: [(String, String)] = [
            ("[]", "expected a JSON object, found array"),
            (#"{"header": 5}"#, #"field "header" must be a string, found number"#),
            (#"{"header": ""}"#, #"field "header" must not be empty"#),
            (#"{"header": "X Bad"}"#, #"field "header" must be a lower-case HTTP header name, got "X Bad""#),
            (#"{"deny_path_prefix": "admin"}"#, #"field "deny_path_prefix" must start with '/', got "admin""#),
            (#"{"colour": "red"}"#, #"unknown field "colour" (known: header, value, deny_path_prefix)"#),
            (#"{"value": "x"#, "invalid JSON at byte 12: unterminated string"),
        ]

        @Test(arguments: badConfigurations.indices)
        func malformedConfigurationIsRejectedWithAPreciseLogLine(_ index: Int) {
            let (json, reason) = Self.badConfigurations[index]
            #expect(configure(json) == false)
            #expect(host.logs.last?.level == .error)
            #expect(host.logs.last?.message == "header_stamp: invalid configuration: " + reason)
        }

        @Test func emptyConfigurationMeansDefaults() {
            #expect(dispatcher.onConfigure(1, 0) == 1)
            _ = request(2, path: "/")
            #expect(host.headers(.httpResponseHeaders).contains(HeaderPair("x-swift-stamp", "swift; node=productpage-v1")))
        }
    }
}
