import Foundation
import ProxyWasmABI
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

@testable import ProxyWasmHost

/// HTTP and gRPC call-outs: Envoy's checks and tokens, answers from the
/// programmable responder delivered later on the root context, and streams
/// held while the plugin waits.
@Suite("Call-outs")
struct CalloutTests {
    // MARK: HTTP through a real module

    struct AuthRun {
        let vm: PluginVM
        let guest: WasmKitGuest
        let root: UInt32
        func word(_ address: UInt32) -> UInt32? { guest.memory.readUInt32(address) }
        func copied(_ pointerSlot: UInt32, _ sizeSlot: UInt32) -> String? {
            guard let pointer = word(pointerSlot), let size = word(sizeSlot) else { return nil }
            return size == 0 ? "" : guest.memory.read(pointer, size).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    func startAuth(timeout: Int32 = 1000, responder: @escaping (HttpCalloutRequest) -> HttpCalloutReply) throws -> AuthRun {
        let proxy = Proxy(name: "p")
        proxy.upstreams.http("auth", responder)
        let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
        let guest = try WasmKitGuest.load(try wasm(CalloutProbe.authModule(timeout: timeout)), into: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "auth"))
        return AuthRun(vm: vm, guest: guest, root: root)
    }

    static let request = [HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(":authority", "app")]

    @Test func theStreamWaitsForTheAnswerThenContinuesWithTheHeaderTheAnswerAllowed() throws {
        let run = try startAuth { _ in
            .response(status: 200, headers: [HeaderPair("x-verdict", "yes")], body: Array("granted".utf8), latencyMilliseconds: 10)
        }
        let stream = HttpStream(vm: run.vm, root: run.root)
        #expect(stream.sendRequestHeaders(Self.request) == .stopAllIterationAndWatermark)
        #expect(run.word(0x40) == WasmResult.ok.rawValue)
        #expect(run.word(0x50) == 4)  // Envoy's first HTTP call token
        #expect(stream.isRequestPaused)

        // What the upstream got: lower-cased keys, content-length for the body.
        let sent = try #require(run.vm.proxy.upstreams.httpRequests.first)
        #expect(sent.cluster == "auth" && sent.timeoutMilliseconds == 1000)
        #expect(sent.header("x-caller") == "probe" && sent.header("content-length") == "5")
        #expect(sent.body == Array("hello".utf8))

        run.vm.proxy.advanceClock(byMilliseconds: 9)
        #expect(stream.isRequestPaused)  // not yet: the answer takes 10 ms
        #expect(run.word(0x60) == 0)

        run.vm.proxy.advanceClock(byMilliseconds: 1)
        #expect(run.word(0x60) == 4)  // token
        #expect(run.word(0x64) == 2)  // :status + x-verdict
        #expect(run.word(0x68) == 7)  // body size
        #expect(run.word(0x6c) == 0)  // trailers
        #expect(run.word(0x70) == WasmResult.ok.rawValue)
        #expect(run.copied(0x74, 0x78) == "granted")
        #expect(run.word(0x80) == WasmResult.ok.rawValue)
        #expect(run.copied(0x84, 0x88) == "200")
        #expect(run.word(0x94) == 0)  // status code untouched by a success
        #expect(!stream.isRequestPaused)
        #expect(stream.requestHeaders.contains(HeaderPair("x-auth", "allowed")))
        #expect(stream.reply == nil)

        let callback = try #require(run.vm.trace.events.first { $0.name == "proxy_on_http_call_response" })
        #expect(callback.context == run.root && callback.args["token"] == "4")
    }

    @Test func anAnswerWithoutLatencyArrivesRightAfterTheCallbackThatAskedForIt() throws {
        let run = try startAuth { _ in .response(status: 200) }
        let stream = HttpStream(vm: run.vm, root: run.root)
        stream.sendRequestHeaders(Self.request)
        #expect(!stream.isRequestPaused)
        #expect(stream.requestHeaders.contains(HeaderPair("x-auth", "allowed")))
        let names = run.vm.trace.events.filter { $0.kind == .callback }.map(\.name)
        let headers = try #require(names.firstIndex(of: "proxy_on_request_headers"))
        let response = try #require(names.firstIndex(of: "proxy_on_http_call_response"))
        #expect(headers < response)
        // The next call gets the next token.
        HttpStream(vm: run.vm, root: run.root).sendRequestHeaders(Self.request)
        #expect(run.word(0x50) == 8)
    }

    @Test func aResetReachesThePluginAsAnEmptyAnswerWithStatusReset() throws {
        let run = try startAuth { _ in .reset(latencyMilliseconds: 3) }
        let stream = HttpStream(vm: run.vm, root: run.root)
        stream.sendRequestHeaders(Self.request)
        run.vm.proxy.advanceClock(byMilliseconds: 3)
        #expect(run.word(0x64) == 0 && run.word(0x68) == 0 && run.word(0x6c) == 0)
        // A failed call has no response: no body buffer, no header map.
        #expect(run.word(0x70) == WasmResult.notFound.rawValue)
        #expect(run.word(0x80) == WasmResult.badArgument.rawValue)
        #expect(run.word(0x94) == WasmResult.brokenConnection.rawValue)
        #expect(run.copied(0x98, 0x9c) == "reset")
        #expect(stream.reply?.statusCode == 503)
        #expect(stream.reply?.details == "denied")
        #expect(!stream.isRequestPaused)
    }

    @Test func aSlowUpstreamTimesOutAsEnvoysRouterDoes() throws {
        let run = try startAuth(timeout: 100) { _ in .response(status: 200, latencyMilliseconds: 5000) }
        let stream = HttpStream(vm: run.vm, root: run.root)
        stream.sendRequestHeaders(Self.request)
        run.vm.proxy.advanceClock(byMilliseconds: 99)
        #expect(stream.isRequestPaused)
        run.vm.proxy.advanceClock(byMilliseconds: 1)
        #expect(run.copied(0x84, 0x88) == "504")
        #expect(run.copied(0x74, 0x78) == "upstream request timeout")
        #expect(!run.vm.proxy.hasPendingCallouts)
    }

    @Test func aClusterWithoutAnHTTPResponderAnswersNoHealthyUpstream() throws {
        let proxy = Proxy(name: "p")
        proxy.upstreams.grpc("auth") { _, _ in GrpcCalloutReply() }
        let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
        let guest = try WasmKitGuest.load(try wasm(CalloutProbe.authModule()), into: vm)
        let root = try vm.startPlugin(PluginConfiguration(name: "auth"))
        HttpStream(vm: vm, root: root).sendRequestHeaders(Self.request)
        let run = AuthRun(vm: vm, guest: guest, root: root)
        #expect(run.copied(0x84, 0x88) == "503")
        #expect(run.copied(0x74, 0x78) == "no healthy upstream")
    }

    @Test func answersForADeletedRootAreDropped() throws {
        let run = try startAuth { _ in .response(status: 200, latencyMilliseconds: 50) }
        HttpStream(vm: run.vm, root: run.root).sendRequestHeaders(Self.request)
        run.vm.shutdown(root: run.root)
        run.vm.proxy.advanceClock(byMilliseconds: 100)
        #expect(run.word(0x60) == 0)
        #expect(!run.vm.trace.events.contains { $0.name == "proxy_on_http_call_response" })
    }

    // MARK: HTTP checks, in Envoy's order

    @Test func httpCallChecksFollowEnvoy() throws {
        let (vm, memory, _) = hostCallFixture()
        vm.proxy.upstreams.http("auth") { _ in .response(status: 200) }
        let cluster = memory.put(Array("auth".utf8), at: 0x100)
        let unknown = memory.put(Array("nope".utf8), at: 0x120)
        let headers = memory.put(CalloutProbe.requestPairs, at: 0x200)
        let noAuthority = memory.put(HeaderPairs.encode([HeaderPair(":method", "GET"), HeaderPair(":path", "/")]), at: 0x400)
        func call(_ upstream: (UInt64, UInt64), _ pairs: (UInt64, UInt64), timeout: UInt64 = 0, tokenSlot: UInt64 = 0x50) throws -> UInt32? {
            memory.place([0xAA, 0xAA, 0xAA, 0xAA], at: 0x50)
            return try vm.call("proxy_http_call", upstream.0, upstream.1, pairs.0, pairs.1, 0, 0, 0, 0, timeout, tokenSlot)
        }
        #expect(try call((0xFFFF_FF00, 0x200), headers) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try call(cluster, headers, tokenSlot: 0xFFFF_FFFE) == WasmResult.invalidMemoryAccess.rawValue)
        #expect(try call(unknown, headers) == WasmResult.badArgument.rawValue)
        #expect(memory.readUInt32(0x50) == 0)  // the token slot is written even on failure
        #expect(try call(cluster, noAuthority) == WasmResult.badArgument.rawValue)
        #expect(try call(cluster, headers, timeout: 0x8000_0000) == WasmResult.badArgument.rawValue)
        #expect(vm.proxy.upstreams.httpRequests.isEmpty)
        #expect(try call(cluster, headers) == WasmResult.ok.rawValue)
        #expect(memory.readUInt32(0x50) == 4)
        #expect(vm.unimplementedCalls.isEmpty)
        let failure = try #require(vm.trace.events.first { $0.name == "proxy_http_call" && $0.args["cluster"] == "nope" })
        #expect(failure.status == "BadArgument" && failure.args["error"] == "unknown cluster")
    }

    @Test func callOutMapsAndBuffersExistOnlyInsideTheirCallback() throws {
        let (vm, memory, _) = hostCallFixture()
        vm.frame.currentContextID = 1
        #expect(try vm.call("proxy_get_buffer_bytes", 4, 0, 10, 0x10, 0x14) == WasmResult.notFound.rawValue)
        let key = memory.put(Array(":status".utf8), at: 0x100)
        #expect(try vm.call("proxy_get_header_map_value", 6, key.0, key.1, 0x10, 0x14) == WasmResult.badArgument.rawValue)
        #expect(try vm.call("proxy_get_header_map_value", 4, key.0, key.1, 0x10, 0x14) == WasmResult.badArgument.rawValue)
        // Nothing failed yet: (0, "").
        #expect(try vm.call("proxy_get_status", 0x20, 0x24, 0x28) == 0)
        #expect(memory.readUInt32(0x20) == 0 && memory.copied(0x24, 0x28) == [])
    }

    // MARK: gRPC

    /// A proxy with a scripted guest and a started root; host calls made
    /// through `asRoot` run as if the root's callback made them.
    struct GrpcRig {
        let vm: PluginVM
        let guest: ScriptedGuest
        let root: UInt32
        var memory: ArrayGuestMemory { guest.plain }

        func asRoot<T>(_ body: () throws -> T) rethrows -> T {
            let saved = vm.frame.currentContextID
            vm.frame.currentContextID = root
            defer { vm.frame.currentContextID = saved }
            return try body()
        }

        /// `proxy_grpc_call` / `proxy_grpc_stream` to `upstream` with fixed service, method and metadata.
        func open(_ upstream: [UInt8], message: String? = "req", timeout: UInt64 = 0, tokenSlot: UInt64 = 0x50) throws -> UInt32? {
            let target = memory.put(upstream, at: 0x100)
            let service = memory.put(Array("pkg.Svc".utf8), at: 0x200)
            let method = memory.put(Array("Check".utf8), at: 0x220)
            let metadata = memory.put(HeaderPairs.encode([HeaderPair("X-Key", "v")]), at: 0x240)
            return try asRoot {
                if let message {
                    let body = memory.put(Array(message.utf8), at: 0x300)
                    return try vm.call(
                        "proxy_grpc_call", target.0, target.1, service.0, service.1, method.0, method.1,
                        metadata.0, metadata.1, body.0, body.1, timeout, tokenSlot)
                }
                return try vm.call(
                    "proxy_grpc_stream", target.0, target.1, service.0, service.1, method.0, method.1,
                    metadata.0, metadata.1, tokenSlot)
            }
        }

        func send(_ token: UInt32, _ text: String, end: Bool = false) throws -> UInt32? {
            let message = memory.put(Array(text.utf8), at: 0x400)
            return try asRoot { try vm.call("proxy_grpc_send", UInt64(token), message.0, message.1, end ? 1 : 0) }
        }

        func callbacks() -> [String] { guest.calls.filter { $0.name.contains("grpc") }.map { "\($0.name)\($0.arguments)" } }
    }

    func grpcRig(_ responder: @escaping (GrpcCalloutRequest, GrpcCalloutInput) -> GrpcCalloutReply) throws -> GrpcRig {
        let proxy = Proxy(name: "p")
        proxy.upstreams.grpc("grpc", responder)
        let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
        let guest = ScriptedGuest()
        vm.guest = guest
        let root = try vm.startPlugin(PluginConfiguration(name: "g"))
        return GrpcRig(vm: vm, guest: guest, root: root)
    }

    @Test func aUnaryCallDeliversItsMessageThenForgetsTheToken() throws {
        var received: [UInt8]?
        let rig = try grpcRig { request, input in
            #expect(input == .call)
            #expect(request.serviceName == "pkg.Svc" && request.method == "Check")
            #expect(request.initialMetadata == [HeaderPair("x-key", "v")] && request.message == Array("req".utf8))
            return GrpcCalloutReply(
                [.initialMetadata([HeaderPair("ignored", "1")]), .message(Array("resp".utf8))],
                latencyMilliseconds: 20)
        }
        rig.guest.callbacks["proxy_on_grpc_receive"] = { arguments in
            received = try rig.asRoot {
                _ = try rig.vm.call("proxy_get_buffer_bytes", 5, 0, UInt64(arguments[2]), 0x600, 0x604)
                return rig.memory.copied(0x600, 0x604)
            }
            return nil
        }
        #expect(try rig.open(Array("grpc".utf8), timeout: 100) == WasmResult.ok.rawValue)
        #expect(rig.memory.readUInt32(0x50) == 5)
        rig.vm.proxy.advanceClock(byMilliseconds: 20)
        // Unary calls get no metadata callbacks, as in Envoy.
        #expect(rig.callbacks() == ["proxy_on_grpc_receive[\(rig.root), 5, 4]"])
        #expect(received == Array("resp".utf8))
        #expect(try rig.asRoot { try rig.vm.call("proxy_grpc_cancel", 5) } == WasmResult.notFound.rawValue)
    }

    @Test func aFailedCallClosesWithItsStatusAndMessage() throws {
        var seen: (UInt32?, [UInt8]?)
        let rig = try grpcRig { _, _ in .failure(status: 7, message: "denied") }
        rig.guest.callbacks["proxy_on_grpc_close"] = { _ in
            try rig.asRoot { _ = try rig.vm.call("proxy_get_status", 0x600, 0x604, 0x608) }
            seen = (rig.memory.readUInt32(0x600), rig.memory.copied(0x604, 0x608))
            return nil
        }
        _ = try rig.open(Array("grpc".utf8))
        rig.vm.proxy.advanceClock(byMilliseconds: 0)
        #expect(rig.callbacks() == ["proxy_on_grpc_close[\(rig.root), 5, 7]"])
        // Envoy appends the stream's response-code details to the upstream's message.
        #expect(seen.0 == 7 && seen.1 == Array("denied{via_upstream}".utf8))
        // After the callback the message is cleared, the code stays (Envoy).
        _ = try rig.asRoot { try rig.vm.call("proxy_get_status", 0x600, 0x604, 0x608) }
        #expect(rig.memory.readUInt32(0x600) == 7 && rig.memory.copied(0x604, 0x608) == [])
    }

    @Test func unaryEdgeCasesFollowEnvoysAsyncRequest() throws {
        var reply = GrpcCalloutReply([.close(status: 0, message: "")])
        let rig = try grpcRig { _, _ in reply }
        rig.guest.callbacks["proxy_on_grpc_close"] = { _ in nil }
        _ = try rig.open(Array("grpc".utf8))
        rig.vm.proxy.advanceClock(byMilliseconds: 0)
        reply = GrpcCalloutReply([.message([1])], latencyMilliseconds: 500)
        _ = try rig.open(Array("grpc".utf8), timeout: 100)
        rig.vm.proxy.advanceClock(byMilliseconds: 1000)
        // OK without a message is Internal; slower than the timeout meets the router's timeout,
        // which Envoy hands the plugin as Unavailable (see Tests/Envoy/test_grpc_callouts.py).
        #expect(rig.callbacks() == ["proxy_on_grpc_close[\(rig.root), 5, 13]", "proxy_on_grpc_close[\(rig.root), 9, 14]"])
        let close = try #require(rig.vm.trace.events.last { $0.name == "proxy_on_grpc_close" })
        #expect(close.args["message"] == "upstream request timeout{response_timeout}")
    }

    @Test func upstreamsResolveAsEnvoyDoes() throws {
        let rig = try grpcRig { _, _ in .success([]) }
        rig.memory.place([0xAA, 0xAA, 0xAA, 0xAA], at: 0x50)
        #expect(try rig.open(Array("nope".utf8)) == WasmResult.parseFailure.rawValue)
        #expect(rig.memory.readUInt32(0x50) == 0xAAAA_AAAA)  // token written only on success
        // A serialized GrpcService{envoy_grpc{cluster_name: "grpc"}}.
        let service: [UInt8] = [0x0A, 0x06, 0x0A, 0x04] + Array("grpc".utf8)
        #expect(try rig.open(service) == WasmResult.ok.rawValue)
        #expect(rig.vm.proxy.upstreams.grpcExchanges.last?.request.cluster == "grpc")
        // A GrpcService without envoy_grpc (google_grpc = field 2): the client cannot be created.
        #expect(try rig.open([0x12, 0x00]) == WasmResult.badArgument.rawValue)
        #expect(try rig.open(Array("grpc".utf8), tokenSlot: 0xFFFF_FFFE) == WasmResult.invalidMemoryAccess.rawValue)
    }

    @Test func aStreamCarriesMetadataMessagesAndTrailersInOrder() throws {
        var initial: [UInt8]?
        let rig = try grpcRig { _, input in
            switch input {
            case .streamOpened: return GrpcCalloutReply([.initialMetadata([HeaderPair("Server", "s1")])])
            case let .message(bytes, endOfStream):
                var events: [GrpcCalloutEvent] = [.message(bytes.reversed())]
                if endOfStream { events += [.trailingMetadata([HeaderPair("t", "1")]), .close(status: 0, message: "")] }
                return GrpcCalloutReply(events, latencyMilliseconds: 5)
            case .call: return GrpcCalloutReply()
            }
        }
        rig.guest.callbacks["proxy_on_grpc_receive_initial_metadata"] = { _ in
            try rig.asRoot {
                let key = rig.memory.put(Array("server".utf8), at: 0x500)
                _ = try rig.vm.call("proxy_get_header_map_value", 4, key.0, key.1, 0x600, 0x604)
                initial = rig.memory.copied(0x600, 0x604)
                #expect(try rig.vm.call("proxy_get_header_map_size", 4, 0x608) == WasmResult.badArgument.rawValue)
                #expect(try rig.vm.call("proxy_add_header_map_value", 4, key.0, key.1, key.0, key.1) == WasmResult.badArgument.rawValue)
            }
            return nil
        }
        for name in ["proxy_on_grpc_receive", "proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_close"] {
            rig.guest.callbacks[name] = { _ in nil }
        }
        #expect(try rig.open(Array("grpc".utf8), message: nil) == WasmResult.ok.rawValue)
        #expect(rig.memory.readUInt32(0x50) == 6)
        rig.vm.proxy.advanceClock(byMilliseconds: 0)
        #expect(initial == Array("s1".utf8))
        #expect(try rig.send(6, "ab") == WasmResult.ok.rawValue)
        #expect(try rig.send(6, "cd", end: true) == WasmResult.ok.rawValue)
        #expect(try rig.send(6, "late") == WasmResult.notFound.rawValue)  // half-closed
        rig.vm.proxy.advanceClock(byMilliseconds: 5)
        let root = rig.root
        #expect(
            rig.callbacks() == [
                "proxy_on_grpc_receive_initial_metadata[\(root), 6, 1]",
                "proxy_on_grpc_receive[\(root), 6, 2]", "proxy_on_grpc_receive[\(root), 6, 2]",
                "proxy_on_grpc_receive_trailing_metadata[\(root), 6, 1]", "proxy_on_grpc_close[\(root), 6, 0]",
            ])
        #expect(
            rig.vm.proxy.upstreams.grpcExchanges.map(\.input) == [
                .streamOpened, .message(Array("ab".utf8), endOfStream: false), .message(Array("cd".utf8), endOfStream: true),
            ])
    }

    @Test func tokensOfTheWrongKindAreBadArgumentAndCancelDropsPendingAnswers() throws {
        let rig = try grpcRig { _, _ in GrpcCalloutReply([.initialMetadata([]), .message([1])], latencyMilliseconds: 50) }
        for name in ["proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive"] { rig.guest.callbacks[name] = { _ in nil } }
        _ = try rig.open(Array("grpc".utf8), message: nil)
        #expect(try rig.send(5, "x") == WasmResult.badArgument.rawValue)  // a call token
        #expect(try rig.send(10, "x") == WasmResult.notFound.rawValue)  // a stream never opened
        #expect(try rig.asRoot { try rig.vm.call("proxy_grpc_close", 4) } == WasmResult.badArgument.rawValue)
        #expect(try rig.asRoot { try rig.vm.call("proxy_grpc_cancel", 6) } == WasmResult.ok.rawValue)
        rig.vm.proxy.advanceClock(byMilliseconds: 100)
        #expect(rig.callbacks().isEmpty)
        #expect(try rig.asRoot { try rig.vm.call("proxy_grpc_cancel", 6) } == WasmResult.notFound.rawValue)
    }

    @Test func aClusterWithoutAGrpcResponderIsUnavailable() throws {
        let (vm, memory, _) = hostCallFixture()
        vm.proxy.upstreams.http("web") { _ in .response(status: 200) }
        let target = memory.put(Array("web".utf8), at: 0x100)
        #expect(try vm.call("proxy_grpc_stream", target.0, target.1, 0, 0, 0, 0, 0, 0, 0x50) == WasmResult.ok.rawValue)
        let pending = try #require(vm.proxy.pendingCallouts.first)
        guard case let .grpc(event) = pending.delivery else {
            Issue.record("expected a gRPC answer")
            return
        }
        #expect(event == .close(status: GrpcStatus.unavailable.rawValue, message: "no healthy upstream{no_healthy_upstream}"))
    }
}
