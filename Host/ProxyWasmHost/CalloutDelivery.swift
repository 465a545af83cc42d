import ProxyWasmABI

// Call-out answers reaching the plugin: the root context's
// `proxy_on_http_call_response` and `proxy_on_grpc_*` callbacks, run when the
// proxy's virtual clock reaches an answer queued by `CalloutScheduling.swift`.

extension PluginVM {
    /// Runs the callback for one answer on its root context, with the
    /// response maps and buffers readable only for that callback.
    func deliver(_ pending: PendingCallout) {
        guard let root = registry[pending.root], root.kind == .root, !isFailed else { return }
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
            guard callouts[grpc: token] != nil else { return }
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
