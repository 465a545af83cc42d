import ProxyWasmABI

// Stream control: continue, close, local replies, effective context, done.

extension PluginVM {
    // MARK: stream control

    func proxyContinueStream(stream: StreamType) throws -> UInt32 { proxyStreamAction(.resume, stream) }

    func proxyCloseStream(stream: StreamType) throws -> UInt32 { proxyStreamAction(.close, stream) }

    /// ABI 0.1.0's request and response continues: the 0.2 continue on a fixed stream.
    func proxyContinueRequest() throws -> UInt32 { proxyStreamAction(.resume, .httpRequest) }

    func proxyContinueResponse() throws -> UInt32 { proxyStreamAction(.resume, .httpResponse) }

    /// ABI 0.1.0: the host has no route cache, so there is nothing to clear.
    func proxyClearRouteCache() throws -> UInt32 { finish("proxy_clear_route_cache", .ok) }

    func proxyStreamAction(_ action: StreamAction.Kind, _ stream: StreamType) -> UInt32 {
        let name = action.callName
        guard let context = activeContext, context.kind != .root else { return finish(name, .ok, args: ["stream": stream.name]) }
        if action == .resume && stream == .upstream { return finish(name, .unimplemented, args: ["stream": stream.name]) }
        context.streamActions.append(StreamAction(action, stream))
        return finish(name, .ok, args: ["stream": stream.name])
    }

    func proxyGetConfiguration(configuration output: BytesOutput) throws -> UInt32 {
        let bytes = buffer(.pluginConfiguration) ?? buffer(.vmConfiguration) ?? []
        let status = try copyOut(bytes, to: output)
        return finish("proxy_get_configuration", status, result: PluginVM.display(bytes))
    }

    func proxySendLocalResponse(statusCode code: UInt32, details: [UInt8], body: [UInt8], headers headerBytes: [UInt8], grpcStatus: UInt32) throws
        -> UInt32
    {
        let name = "proxy_send_local_response"
        let headers = (try? HeaderPairs.decode(headerBytes)) ?? []
        // Envoy replaces whitespace in details with '_'.
        let cleanDetails = String(decoding: details.map { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A ? 0x5F : $0 }, as: UTF8.self)
        let args = {
            [
                "status": String(code), "details": cleanDetails, "body": PluginVM.display(body),
                "headers": PluginVM.displayPairs(headers), "grpc_status": grpcStatus <= 16 ? String(grpcStatus) : "none",
            ]
        }
        if let context = activeContext, context.kind == .http {
            context.localResponse = LocalResponse(
                statusCode: code, details: cleanDetails, body: body, headers: headers,
                grpcStatus: grpcStatus <= 16 ? grpcStatus : nil)
            frame.sentLocalReply = true
        }
        return finish(name, .ok, args: args())
    }

    func proxySetEffectiveContext(contextID id: UInt32) throws -> UInt32 {
        guard registry[id] != nil else { return finish("proxy_set_effective_context", .badArgument, args: ["context": String(id)]) }
        frame.effectiveContextID = id
        return finish("proxy_set_effective_context", .ok, args: ["context": String(id)])
    }

    func proxyDone() throws -> UInt32 {
        let root = activeContext?.rootID ?? frame.currentContextID
        guard registry.release(root) else { return finish("proxy_done", .notFound) }
        deferred.deleteRoot(root)
        return finish("proxy_done", .ok)
    }
}
