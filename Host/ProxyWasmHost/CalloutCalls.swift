import ProxyWasmABI

// HTTP and gRPC call-outs (`proxy_http_call`, `proxy_grpc_*`): the plugin
// talks to an upstream cluster, the host answers through a programmable
// responder registered per cluster, and the answer reaches the plugin's root
// context later, as in Envoy (never inside the call that sent the request).

extension PluginVM {
    /// The root context call-outs belong to (Envoy uses the plugin's root).
    var calloutRoot: UInt32 { activeContext?.rootID ?? frame.currentContextID }

    func proxyHttpCall(
        upstream clusterBytes: [UInt8], headers headerBytes: [UInt8], body: [UInt8], trailers trailerBytes: [UInt8],
        timeoutMilliseconds timeout: UInt32, token tokenOutput: WordOutput
    ) throws -> UInt32 {
        let name = "proxy_http_call"
        guard store(0, in: tokenOutput) else { return finish(name, .invalidMemoryAccess) }
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
        let token = callouts.issue(.httpCall)
        var reply = upstream.http?(request) ?? CalloutUpstreams.noHealthyUpstream()
        if timeout > 0 && reply.latencyMilliseconds > UInt64(timeout) {
            reply = CalloutUpstreams.timeoutResponse()
            proxy.schedule(.http(reply), vm: self, root: calloutRoot, token: token, afterMilliseconds: UInt64(timeout))
        } else {
            proxy.schedule(.http(reply), vm: self, root: calloutRoot, token: token, afterMilliseconds: reply.latencyMilliseconds)
        }
        _ = store(token, in: tokenOutput)
        return finish(name, .ok, args: args, result: String(token))
    }

    func proxyGrpcCall(
        service upstreamBytes: [UInt8], serviceName service: [UInt8], method: [UInt8], initialMetadata metadataBytes: [UInt8],
        message: [UInt8], timeoutMilliseconds timeout: UInt32, token: WordOutput
    ) throws -> UInt32 {
        grpcOpen(upstreamBytes, service: service, method: method, metadata: metadataBytes, message: message, timeout: timeout, token: token)
    }

    func proxyGrpcStream(
        service upstreamBytes: [UInt8], serviceName service: [UInt8], method: [UInt8], initialMetadata metadataBytes: [UInt8],
        token: WordOutput
    ) throws -> UInt32 {
        grpcOpen(upstreamBytes, service: service, method: method, metadata: metadataBytes, message: nil, timeout: 0, token: token)
    }

    /// `proxy_grpc_call` (with a message) and `proxy_grpc_stream` (`message` nil).
    private func grpcOpen(
        _ upstreamBytes: [UInt8], service: [UInt8], method: [UInt8], metadata metadataBytes: [UInt8], message: [UInt8]?,
        timeout: UInt32, token tokenOutput: WordOutput
    ) -> UInt32 {
        let isStream = message == nil
        let name = isStream ? "proxy_grpc_stream" : "proxy_grpc_call"
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
        switch GrpcCalloutRules.upstream(upstreamBytes) {
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
        let token = callouts.issue(isStream ? .grpcStream : .grpcCall)
        guard store(token, in: tokenOutput) else { return finish(name, .invalidMemoryAccess) }
        callouts[grpc: token] = GrpcExchange(request: request)
        let input: GrpcCalloutInput = isStream ? .streamOpened : .call
        proxy.upstreams.grpcExchanges.append((request, input))
        var reply =
            upstream.grpc.map { GrpcCalloutRules.viaUpstream($0(request, input)) }
            ?? .failure(
                status: GrpcStatus.unavailable.rawValue,
                message: GrpcCalloutRules.statusMessage("no healthy upstream", details: "no_healthy_upstream"))
        if !isStream { reply = GrpcCalloutRules.unaryOutcome(reply, timeout: timeout) }
        scheduleGrpc(reply, token: token)
        return finish(name, .ok, args: args, result: String(token))
    }

    func proxyGrpcSend(token: UInt32, message: [UInt8], endOfStream: UInt32) throws -> UInt32 {
        let name = "proxy_grpc_send"
        let args = ["token": String(token), "message": PluginVM.display(message), "end_of_stream": String(endOfStream != 0)]
        guard CalloutKind(token: token) == .grpcStream else { return finish(name, .badArgument, args: args) }
        guard var exchange = callouts[grpc: token], !exchange.localClosed else { return finish(name, .notFound, args: args) }
        if endOfStream != 0 { exchange.localClosed = true }
        callouts[grpc: token] = exchange
        let input = GrpcCalloutInput.message(message, endOfStream: endOfStream != 0)
        proxy.upstreams.grpcExchanges.append((exchange.request, input))
        if let reply = proxy.upstreams.clusters[exchange.request.cluster]?.grpc?(exchange.request, input) {
            scheduleGrpc(GrpcCalloutRules.viaUpstream(reply), token: token)
        }
        return finish(name, .ok, args: args)
    }

    /// `proxy_grpc_cancel` and `proxy_grpc_close`: a call is cancelled and
    /// forgotten either way; a stream is reset by cancel, half-closed by close.
    func proxyGrpcCancel(token: UInt32) throws -> UInt32 { proxyGrpcEnd(token, cancel: true) }

    func proxyGrpcClose(token: UInt32) throws -> UInt32 { proxyGrpcEnd(token, cancel: false) }

    func proxyGrpcEnd(_ token: UInt32, cancel: Bool) -> UInt32 {
        let name = cancel ? "proxy_grpc_cancel" : "proxy_grpc_close"
        let args = ["token": String(token)]
        guard let kind = CalloutKind(token: token), kind != .httpCall else { return finish(name, .badArgument, args: args) }
        guard var exchange = callouts[grpc: token] else { return finish(name, .notFound, args: args) }
        if cancel || kind == .grpcCall {
            forgetGrpc(token)
        } else {
            exchange.localClosed = true
            callouts[grpc: token] = exchange
        }
        return finish(name, .ok, args: args)
    }

    func forgetGrpc(_ token: UInt32) {
        callouts[grpc: token] = nil
        proxy.pendingCallouts.removeAll { $0.vm === self && $0.token == token }
    }

    private func scheduleGrpc(_ reply: GrpcCalloutReply, token: UInt32) {
        for event in reply.events {
            proxy.schedule(.grpc(event), vm: self, root: calloutRoot, token: token, afterMilliseconds: reply.latencyMilliseconds)
        }
    }

    func proxyGetStatus(code codeOutput: WordOutput, message messageOutput: BytesOutput) throws -> UInt32 {
        let root = registry[calloutRoot]
        let code = root?.statusCode ?? 0
        let message = root?.statusMessage ?? []
        guard store(code, in: codeOutput) else { return finish("proxy_get_status", .invalidMemoryAccess) }
        let status = try copyOut(message, to: messageOutput)
        return finish("proxy_get_status", status, result: "\(code) \(PluginVM.display(message))")
    }
}
