import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

/// The SDK's call-outs (`dispatchHttpCall`, `dispatchGrpcCall`,
/// `openGrpcStream`) through the example module callout_check.wasm, which
/// holds each request until an upstream decides (Plugins/Examples/CalloutCheck).
@Suite("SDK call-outs through callout_check.wasm")
struct SDKCalloutTests {
    struct Check {
        let proxy: Proxy
        let vm: PluginVM
        let root: UInt32

        func counter(_ name: String) -> UInt64 { proxy.stats.stat(named: name)?.value ?? 0 }

        /// One GET of `path`; returns the stream after the upstream's answers were delivered.
        func request(_ path: String) -> HttpStream {
            let stream = HttpStream(vm: vm, root: root)
            stream.sendRequestHeaders([HeaderPair(":method", "GET"), HeaderPair(":path", path), HeaderPair(":authority", "app")])
            while stream.isRequestPaused && proxy.advanceToNextCallout() {}
            return stream
        }
    }

    static func start(
        _ configuration: String, http: ((HttpCalloutRequest) -> HttpCalloutReply)? = nil,
        grpc: ((GrpcCalloutRequest, GrpcCalloutInput) -> GrpcCalloutReply)? = nil
    ) throws -> Check {
        let proxy = Proxy(name: "p")
        if let http { proxy.upstreams.http("authz", http) }
        if let grpc { proxy.upstreams.grpc("authz", grpc) }
        let vm = PluginVM(proxy: proxy, vmID: "callout_check", trace: TraceRecorder())
        _ = try WasmKitGuest.load(try BuiltModules.bytes("callout_check"), into: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "callout_check", configuration: Array(configuration.utf8)))
        return Check(proxy: proxy, vm: vm, root: root)
    }

    @Test func anHTTPAnswerDecidesTheRequestItHeld() throws {
        let check = try Self.start(#"{"mode": "http", "timeout_ms": 250}"#) { request in
            request.header(":path") == "/check/allowed" ? .response(status: 200, latencyMilliseconds: 5) : .response(status: 401)
        }
        let allowed = check.request("/allowed")
        #expect(!allowed.isRequestPaused && allowed.reply == nil)
        let sent = try #require(check.proxy.upstreams.httpRequests.first)
        #expect(sent.cluster == "authz" && sent.timeoutMilliseconds == 250 && sent.header(":method") == "GET")
        let denied = check.request("/other")
        #expect(denied.reply?.statusCode == 403)
        #expect(denied.reply?.body == Array("denied by authz: 401".utf8))
        #expect(check.counter("callout_check_allowed_total") == 1 && check.counter("callout_check_denied_total") == 1)
        // The answer went to the stream that asked: the stream was made effective first.
        let answer = try #require(check.vm.trace.events.firstIndex { $0.name == "proxy_on_http_call_response" })
        #expect(check.vm.trace.events[answer...].contains { $0.name == "proxy_set_effective_context" && $0.status == "Ok" })
        #expect(check.vm.failure == nil)
    }

    @Test func aFailedHTTPCallOutFailsClosed() throws {
        var replies: [HttpCalloutReply] = [.reset(latencyMilliseconds: 1), .response(status: 503)]
        let check = try Self.start(#"{"mode": "http"}"#) { _ in replies.removeFirst() }
        #expect(check.request("/x").reply?.statusCode == 503)  // reset: no answer at all
        #expect(check.request("/x").reply?.statusCode == 503)  // the upstream could not decide
        #expect(check.counter("callout_check_failed_total") == 2 && check.counter("callout_check_denied_total") == 0)
        // No such cluster: the call-out cannot start, the request is answered at once.
        let unknown = try Self.start(#"{"mode": "http", "cluster": "missing"}"#) { _ in .response(status: 200) }
        #expect(unknown.request("/x").reply?.statusCode == 503)
        #expect(unknown.vm.failure == nil)
    }

    @Test func aUnaryGRPCReplyAllowsAndAFailureDeniesWithItsStatus() throws {
        let check = try Self.start(
            #"{"mode": "grpc", "service": "pkg.Authz", "method": "Check"}"#,
            grpc: { request, input in
                #expect(input == .call && request.serviceName == "pkg.Authz" && request.method == "Check")
                return request.message == Array("/ok".utf8) ? .success(Array("yes".utf8)) : .failure(status: 7, message: "not allowed")
            })
        let allowed = check.request("/ok")
        #expect(!allowed.isRequestPaused && allowed.reply == nil)
        let denied = check.request("/no")
        #expect(denied.reply?.statusCode == 403)
        #expect(denied.reply?.body == Array("denied: grpc status 7: not allowed{via_upstream}".utf8))  // Envoy appends the details
        #expect(check.counter("callout_check_allowed_total") == 1 && check.counter("callout_check_denied_total") == 1)
        #expect(check.vm.failure == nil)
    }

    @Test func aGRPCStreamSendsItsMessageAndTheServersCloseDecides() throws {
        var inputs: [GrpcCalloutInput] = []
        let check = try Self.start(
            #"{"mode": "grpc_stream"}"#,
            grpc: { _, input in
                inputs.append(input)
                guard case let .message(bytes, endOfStream) = input, endOfStream else { return GrpcCalloutReply() }
                return bytes == Array("/ok".utf8)
                    ? GrpcCalloutReply([.initialMetadata([]), .message(Array("yes".utf8)), .close(status: 0, message: "")])
                    : GrpcCalloutReply([.close(status: 16, message: "who are you")])
            })
        let allowed = check.request("/ok")
        #expect(inputs == [.streamOpened, .message(Array("/ok".utf8), endOfStream: true)])
        #expect(!allowed.isRequestPaused && allowed.reply == nil)
        let denied = check.request("/no")
        #expect(denied.reply?.body == Array("denied: grpc status 16: who are you{via_upstream}".utf8))
        #expect(check.vm.failure == nil)
    }

    /// A stream that ends while its call-out is outstanding: the late answer is
    /// dropped (not handed to another context), and the VM keeps serving.
    @Test func anAnswerForAStreamThatEndedIsDropped() throws {
        let check = try Self.start(#"{"mode": "http"}"#) { _ in .response(status: 200, latencyMilliseconds: 50) }
        let stream = HttpStream(vm: check.vm, root: check.root)
        stream.sendRequestHeaders([HeaderPair(":method", "GET"), HeaderPair(":path", "/gone"), HeaderPair(":authority", "app")])
        #expect(stream.isRequestPaused)
        stream.complete()
        check.proxy.advanceClock(byMilliseconds: 50)
        #expect(check.vm.trace.events.contains { $0.name == "proxy_on_http_call_response" })
        #expect(!check.vm.trace.events.contains { $0.name == "proxy_set_effective_context" })
        #expect(check.counter("callout_check_allowed_total") == 0)
        #expect(check.request("/next").reply == nil)
        #expect(check.counter("callout_check_allowed_total") == 1 && check.vm.failure == nil)
    }

    @Test(arguments: [#"{"mode": "smtp"}"#, #"{"timeout_ms": 0}"#, #"{"timeout_ms": "soon"}"#, #"{"cluster": ""}"#, #"{"extra": 1}"#, "[]"])
    func badConfigurationsAreRefused(_ configuration: String) {
        #expect(throws: PluginStartError.self) { _ = try Self.start(configuration) }
    }
}
