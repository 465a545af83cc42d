import ProxyWasmABI

// HTTP and gRPC call-outs (`proxy_http_call`, `proxy_grpc_*`): the plugin
// talks to an upstream cluster, the host answers through a programmable
// responder registered per cluster, and the answer reaches the plugin's root
// context later, as in Envoy (never inside the call that sent the request).

extension PluginVM {
    /// The root context call-outs belong to (Envoy uses the plugin's root).
    var calloutRoot: UInt32 { activeContext?.rootID ?? currentContextID }

    func proxyHttpCall(
        _ upstream: UInt32, _ upstreamSize: UInt32, _ headers: UInt32, _ headersSize: UInt32,
        _ body: UInt32, _ bodySize: UInt32, _ trailers: UInt32, _ trailersSize: UInt32,
        _ timeout: UInt32, _ tokenSlot: UInt32
    ) throws -> UInt32 {
        let name = "proxy_http_call"
        guard let clusterBytes = slice(upstream, upstreamSize), let headerBytes = slice(headers, headersSize),
            let body = slice(body, bodySize), let trailerBytes = slice(trailers, trailersSize)
        else {
            return finish(name, .invalidMemoryAccess)
        }
        guard memory?.writeUInt32(tokenSlot, 0) == true else { return finish(name, .invalidMemoryAccess) }
        let cluster = String(decoding: clusterBytes, as: UTF8.self)
        let headers = HeaderMapRules.decode(headerBytes)
        let trailers = HeaderMapRules.decode(trailerBytes)
        var args = ["cluster": cluster, "headers": PluginVM.displayPairs(headers), "timeout_ms": String(Int32(bitPattern: timeout))]
        if !body.isEmpty { args["body"] = PluginVM.display(body) }
        if !trailers.isEmpty { args["trailers"] = PluginVM.displayPairs(trailers) }
        guard Int32(bitPattern: timeout) >= 0 else { return finish(name, .badArgument, args: args) }
        guard let upstream = proxy.upstreams.clusters[cluster] else {
            args["error"] = "unknown cluster"
            return finish(name, .badArgument, args: args)
        }
        let required = [":path", ":method", ":authority"].map { Array($0.utf8) }
        guard required.allSatisfy({ key in headers.contains { $0.key == key } }) else {
            args["error"] = "missing :path, :method or :authority"
            return finish(name, .badArgument, args: args)
        }
        var sent = headers
        if !body.isEmpty {
            sent.removeAll { $0.key == Array("content-length".utf8) }
            sent.append(HeaderPair("content-length", String(body.count)))
        }
        let request = HttpCalloutRequest(
            cluster: cluster, headers: sent, body: body, trailers: trailers,
            timeoutMilliseconds: timeout)
        proxy.upstreams.httpRequests.append(request)
        let token = calloutTokens.issue(.httpCall)
        var reply = upstream.http?(request) ?? CalloutUpstreams.noHealthyUpstream()
        if timeout > 0 && reply.latencyMilliseconds > UInt64(timeout) {
            reply = CalloutUpstreams.timeoutResponse()
            proxy.schedule(.http(reply), vm: self, root: calloutRoot, token: token, afterMilliseconds: UInt64(timeout))
        } else {
            proxy.schedule(.http(reply), vm: self, root: calloutRoot, token: token, afterMilliseconds: reply.latencyMilliseconds)
        }
        _ = memory?.writeUInt32(tokenSlot, token)
        return finish(name, .ok, args: args, result: String(token))
    }

    func proxyGrpcCall(
        _ upstream: UInt32, _ upstreamSize: UInt32, _ service: UInt32, _ serviceSize: UInt32,
        _ method: UInt32, _ methodSize: UInt32, _ metadata: UInt32, _ metadataSize: UInt32,
        _ message: UInt32, _ messageSize: UInt32, _ timeout: UInt32, _ tokenSlot: UInt32
    ) throws -> UInt32 {
        grpcOpen(
            upstream: (upstream, upstreamSize), service: (service, serviceSize), method: (method, methodSize),
            metadata: (metadata, metadataSize), message: (message, messageSize), timeout: timeout, tokenSlot: tokenSlot)
    }

    func proxyGrpcStream(
        _ upstream: UInt32, _ upstreamSize: UInt32, _ service: UInt32, _ serviceSize: UInt32,
        _ method: UInt32, _ methodSize: UInt32, _ metadata: UInt32, _ metadataSize: UInt32, _ tokenSlot: UInt32
    ) throws -> UInt32 {
        grpcOpen(
            upstream: (upstream, upstreamSize), service: (service, serviceSize), method: (method, methodSize),
            metadata: (metadata, metadataSize), message: nil, timeout: 0, tokenSlot: tokenSlot)
    }

    /// `proxy_grpc_call` (with a message) and `proxy_grpc_stream` (`message` nil);
    /// each range is a guest (pointer, size).
    private func grpcOpen(
        upstream: (UInt32, UInt32), service serviceRange: (UInt32, UInt32), method methodRange: (UInt32, UInt32),
        metadata metadataRange: (UInt32, UInt32), message messageRange: (UInt32, UInt32)?, timeout: UInt32, tokenSlot: UInt32
    ) -> UInt32 {
        let isStream = messageRange == nil
        let name = isStream ? "proxy_grpc_stream" : "proxy_grpc_call"
        guard let upstreamBytes = slice(upstream.0, upstream.1), let service = slice(serviceRange.0, serviceRange.1),
            let method = slice(methodRange.0, methodRange.1), let metadataBytes = slice(metadataRange.0, metadataRange.1)
        else {
            return finish(name, .invalidMemoryAccess)
        }
        var message: [UInt8]?
        if let messageRange {
            guard let bytes = slice(messageRange.0, messageRange.1) else { return finish(name, .invalidMemoryAccess) }
            message = bytes
        }
        let metadata = HeaderMapRules.decode(metadataBytes)
        var args = [
            "service": String(decoding: service, as: UTF8.self), "method": String(decoding: method, as: UTF8.self),
            "metadata": PluginVM.displayPairs(metadata),
        ]
        if let message {
            args["message"] = PluginVM.display(message)
            args["timeout_ms"] = String(timeout)
        }
        let cluster: String
        switch PluginVM.grpcCluster(upstreamBytes) {
        case .cluster(let named):
            cluster = named
        case .unsupportedService:
            args["error"] = "GrpcService without envoy_grpc"
            return finish(name, .badArgument, args: args)
        }
        args["cluster"] = cluster
        guard let upstream = proxy.upstreams.clusters[cluster] else {
            args["error"] = "unknown cluster"
            return finish(name, .parseFailure, args: args)
        }
        let request = GrpcCalloutRequest(
            cluster: cluster, serviceName: args["service"]!, method: args["method"]!,
            initialMetadata: metadata, message: message, timeoutMilliseconds: timeout)
        let token = calloutTokens.issue(isStream ? .grpcStream : .grpcCall)
        guard memory?.writeUInt32(tokenSlot, token) == true else { return finish(name, .invalidMemoryAccess) }
        grpcExchanges[token] = GrpcExchange(request: request)
        let input: GrpcCalloutInput = isStream ? .streamOpened : .call
        proxy.upstreams.grpcExchanges.append((request, input))
        var reply =
            upstream.grpc.map { PluginVM.viaUpstream($0(request, input)) }
            ?? .failure(
                status: GrpcStatus.unavailable.rawValue,
                message: PluginVM.grpcMessage("no healthy upstream", details: "no_healthy_upstream"))
        if !isStream { reply = PluginVM.unaryOutcome(reply, timeout: timeout) }
        scheduleGrpc(reply, token: token)
        return finish(name, .ok, args: args, result: String(token))
    }

    func proxyGrpcSend(_ token: UInt32, _ pointer: UInt32, _ size: UInt32, _ endOfStream: UInt32) throws -> UInt32 {
        let name = "proxy_grpc_send"
        guard let message = slice(pointer, size) else { return finish(name, .invalidMemoryAccess) }
        let args = ["token": String(token), "message": PluginVM.display(message), "end_of_stream": String(endOfStream != 0)]
        guard CalloutKind(token: token) == .grpcStream else { return finish(name, .badArgument, args: args) }
        guard var exchange = grpcExchanges[token], !exchange.localClosed else { return finish(name, .notFound, args: args) }
        if endOfStream != 0 { exchange.localClosed = true }
        grpcExchanges[token] = exchange
        let input = GrpcCalloutInput.message(message, endOfStream: endOfStream != 0)
        proxy.upstreams.grpcExchanges.append((exchange.request, input))
        if let reply = proxy.upstreams.clusters[exchange.request.cluster]?.grpc?(exchange.request, input) {
            scheduleGrpc(PluginVM.viaUpstream(reply), token: token)
        }
        return finish(name, .ok, args: args)
    }

    /// `proxy_grpc_cancel` and `proxy_grpc_close`: a call is cancelled and
    /// forgotten either way; a stream is reset by cancel, half-closed by close.
    func proxyGrpcCancel(_ token: UInt32) throws -> UInt32 { proxyGrpcEnd(token, cancel: true) }

    func proxyGrpcClose(_ token: UInt32) throws -> UInt32 { proxyGrpcEnd(token, cancel: false) }

    func proxyGrpcEnd(_ token: UInt32, cancel: Bool) -> UInt32 {
        let name = cancel ? "proxy_grpc_cancel" : "proxy_grpc_close"
        let args = ["token": String(token)]
        guard let kind = CalloutKind(token: token), kind != .httpCall else { return finish(name, .badArgument, args: args) }
        guard var exchange = grpcExchanges[token] else { return finish(name, .notFound, args: args) }
        if cancel || kind == .grpcCall {
            forgetGrpc(token)
        } else {
            exchange.localClosed = true
            grpcExchanges[token] = exchange
        }
        return finish(name, .ok, args: args)
    }

    func forgetGrpc(_ token: UInt32) {
        grpcExchanges[token] = nil
        proxy.pendingCallouts.removeAll { $0.vm === self && $0.token == token }
    }

    private func scheduleGrpc(_ reply: GrpcCalloutReply, token: UInt32) {
        for event in reply.events {
            proxy.schedule(.grpc(event), vm: self, root: calloutRoot, token: token, afterMilliseconds: reply.latencyMilliseconds)
        }
    }

    enum GrpcUpstream {
        case cluster(String)
        case unsupportedService
    }

    /// Envoy first reads the upstream as a serialized `GrpcService`
    /// (`envoy_grpc.cluster_name` = field 1.1); bytes that are not one are a cluster name.
    static func grpcCluster(_ bytes: [UInt8]) -> GrpcUpstream {
        guard let fields = ProtobufFields.parse(bytes) else { return .cluster(String(decoding: bytes, as: UTF8.self)) }
        guard let envoyGrpc = fields[1], let inner = ProtobufFields.parse(envoyGrpc), let name = inner[1] else {
            return .unsupportedService
        }
        return .cluster(String(decoding: name, as: UTF8.self))
    }

    /// A unary call ends with one message (success) or a non-OK close, as
    /// Envoy's async request does: metadata is not delivered, an OK close
    /// without a message is Internal, and a reply slower than the timeout
    /// meets the router's timeout, which reaches the plugin as Unavailable
    /// `upstream request timeout{response_timeout}` (measured against Envoy
    /// 1.40 in Tests/Envoy/test_grpc_callouts.py).
    static func unaryOutcome(_ reply: GrpcCalloutReply, timeout: UInt32) -> GrpcCalloutReply {
        if timeout > 0 && reply.latencyMilliseconds > UInt64(timeout) {
            return .failure(
                status: GrpcStatus.unavailable.rawValue,
                message: grpcMessage("upstream request timeout", details: "response_timeout"),
                latencyMilliseconds: UInt64(timeout))
        }
        for event in reply.events {
            switch event {
            case let .message(bytes): return .success(bytes, latencyMilliseconds: reply.latencyMilliseconds)
            case let .close(status, message) where status != 0:
                return .failure(status: status, message: message, latencyMilliseconds: reply.latencyMilliseconds)
            default: continue
            }
        }
        return .failure(status: GrpcStatus.internal.rawValue, latencyMilliseconds: reply.latencyMilliseconds)
    }

    /// The status message Envoy's gRPC client hands the plugin: the
    /// upstream's `grpc-message` followed by the HTTP stream's response-code
    /// details in braces (either alone when the other is empty).
    static func grpcMessage(_ message: String, details: String) -> String {
        message.isEmpty ? details : details.isEmpty ? message : "\(message){\(details)}"
    }

    /// A responder's answer as it reaches the plugin: every close the
    /// upstream sent carries the details `via_upstream`.
    static func viaUpstream(_ reply: GrpcCalloutReply) -> GrpcCalloutReply {
        var reply = reply
        reply.events = reply.events.map { event in
            guard case let .close(status, message) = event else { return event }
            return .close(status: status, message: grpcMessage(message, details: "via_upstream"))
        }
        return reply
    }

    func proxyGetStatus(_ codeSlot: UInt32, _ messageSlot: UInt32, _ sizeSlot: UInt32) throws -> UInt32 {
        let root = contexts[calloutRoot]
        let code = root?.statusCode ?? 0
        let message = root?.statusMessage ?? []
        guard memory?.writeUInt32(codeSlot, code) == true else { return finish("proxy_get_status", .invalidMemoryAccess) }
        let status = try copyOut(message, messageSlot, sizeSlot)
        return finish("proxy_get_status", status, result: "\(code) \(PluginVM.display(message))")
    }

    // MARK: delivery

    /// Runs the callback for one answer on its root context, with the
    /// response maps and buffers readable only for that callback.
    func deliver(_ pending: PendingCallout) {
        guard let root = contexts[pending.root], root.kind == .root, !isFailed else { return }
        let token = pending.token
        switch pending.delivery {
        case let .http(reply):
            switch reply {
            case let .response(status, headers, body, trailers, _):
                root.headerMaps[.httpCallResponseHeaders] = [HeaderPair(":status", String(status))] + headers
                root.headerMaps[.httpCallResponseTrailers] = trailers
                root.mapAccess[.httpCallResponseHeaders] = .readOnly
                root.mapAccess[.httpCallResponseTrailers] = .readOnly
                root.buffers[.httpCallResponseBody] = body
                invoke(
                    "proxy_on_http_call_response", context: root.id,
                    [root.id, token, UInt32(headers.count + 1), UInt32(body.count), UInt32(trailers.count)],
                    traceArgs: [
                        "token": String(token), "headers": PluginVM.displayPairs(root.headerMaps[.httpCallResponseHeaders]!),
                        "body": PluginVM.display(body), "trailers": PluginVM.displayPairs(trailers),
                    ])
            case .reset:
                root.statusCode = WasmResult.brokenConnection.rawValue
                root.statusMessage = Array("reset".utf8)
                invoke(
                    "proxy_on_http_call_response", context: root.id, [root.id, token, 0, 0, 0],
                    traceArgs: ["token": String(token), "failure": "reset"])
            }
            root.headerMaps[.httpCallResponseHeaders] = nil
            root.headerMaps[.httpCallResponseTrailers] = nil
            root.mapAccess[.httpCallResponseHeaders] = nil
            root.mapAccess[.httpCallResponseTrailers] = nil
            root.buffers[.httpCallResponseBody] = nil
        case let .grpc(event):
            guard grpcExchanges[token] != nil else { return }
            deliverGrpc(event, token: token, root: root)
        }
        runDeferredActions()
    }

    private func deliverGrpc(_ event: GrpcCalloutEvent, token: UInt32, root: ContextState) {
        let tokenArg = String(token)
        switch event {
        case let .initialMetadata(pairs), let .trailingMetadata(pairs):
            let isInitial = if case .initialMetadata = event { true } else { false }
            let map: HeaderMapType = isInitial ? .grpcCallInitialMetadata : .grpcCallTrailingMetadata
            root.headerMaps[map] = HeaderMapRules.lowercasedKeys(pairs)
            root.mapAccess[map] = .readOnly
            invoke(
                isInitial ? "proxy_on_grpc_receive_initial_metadata" : "proxy_on_grpc_receive_trailing_metadata",
                context: root.id, [root.id, token, UInt32(pairs.count)],
                traceArgs: ["token": tokenArg, "metadata": PluginVM.displayPairs(pairs)])
            root.headerMaps[map] = nil
            root.mapAccess[map] = nil
        case let .message(bytes):
            root.buffers[.grpcReceiveBuffer] = bytes
            invoke(
                "proxy_on_grpc_receive", context: root.id, [root.id, token, UInt32(bytes.count)],
                traceArgs: ["token": tokenArg, "message": PluginVM.display(bytes)])
            root.buffers[.grpcReceiveBuffer] = nil
            if CalloutKind(token: token) == .grpcCall { forgetGrpc(token) }
        case let .close(status, message):
            root.statusCode = status
            root.statusMessage = Array(message.utf8)
            invoke(
                "proxy_on_grpc_close", context: root.id, [root.id, token, status],
                traceArgs: ["token": tokenArg, "status": String(status), "message": message])
            root.statusMessage = []
            forgetGrpc(token)
        }
    }
}
