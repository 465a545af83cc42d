import ProxyWasmABI

/// Drives one HTTP stream through a plugin in Envoy's order: request headers
/// -> body -> trailers -> response headers -> body -> trailers -> log -> done
/// -> delete. Holds what the filter let through, its local reply if any, and
/// Envoy's failure behaviour (a failed VM answers 503, or is bypassed when the
/// plugin fails open).
public final class HttpStream {
    public let vm: PluginVM
    public let root: UInt32
    /// The stream's context (nil until created, or if the VM was bypassed).
    public private(set) var context: ContextState?
    /// Headers as they leave the filter towards the upstream / the client.
    public private(set) var requestHeaders: [HeaderPair] = []
    public private(set) var responseHeaders: [HeaderPair] = []
    public private(set) var requestBody: [UInt8] = []
    public private(set) var responseBody: [UInt8] = []
    /// The reply the client gets instead of the upstream's, if the plugin (or
    /// a failed VM) sent one.
    public private(set) var localResponse: LocalResponse?
    /// The filter was skipped (failed VM, fail-open).
    public private(set) var bypassed = false
    public private(set) var completed = false
    /// Properties of this stream (`request.*`, `response.*`, `connection.*`,
    /// `xds.cluster_name`, ...). Request and response facts are filled in from
    /// the headers as they pass; set anything else before the first callback.
    public var properties: [PropertyEntry]
    /// Filter state shared with the other plugins on this stream.
    public let streamState: StreamState
    private var requestPaused = false
    private var responsePaused = false
    /// Body bytes received from the client (Envoy's `bytesReceived`).
    private var requestBytesReceived = 0

    /// `streamState`: pass the same object to the streams of every plugin that
    /// sees this request on one proxy, so they share filter state as in Envoy.
    public init(vm: PluginVM, root: UInt32, properties: [PropertyEntry] = [], streamState: StreamState = StreamState()) {
        self.vm = vm
        self.root = root
        self.properties = properties
        self.streamState = streamState
    }

    /// The stream's id, if its context exists.
    public var id: UInt32? { context?.id }

    private func ensureContext() -> ContextState? {
        if let context { return context }
        if bypassed || localResponse != nil { return nil }
        if vm.isFailed || !vm.isLiveRoot(root) {
            failStream()
            return nil
        }
        let created = vm.createStreamContext(root: root, kind: .http, stream: streamState)
        context = created
        properties = ConnectionAttributes.apply(
            ConnectionAttributes.downstream(id: vm.proxy.connectionID(of: streamState)),
            under: properties)
        if vm.isFailed {
            failStream()
            return nil
        }
        return created
    }

    /// Envoy's `CHECK_FAIL`: fail-closed answers 503, fail-open lets traffic through.
    private func failStream() {
        if vm.bypassesAfterFailure(root: root, context: context?.id) {
            bypassed = true
            return
        }
        localResponse = LocalResponse(
            statusCode: 503, details: "wasm_fail_stream", body: [], headers: [],
            grpcStatus: GrpcStatus.unavailable.rawValue)
        vm.recordEvent(context: context?.id ?? 0, name: "local_reply", args: ["status": "503", "details": "wasm_fail_stream"])
    }

    private func syncProperties(_ context: ContextState) {
        context.streamProperties = .map(properties)
    }

    private func setProperty(_ path: [String], _ value: PropertyNode) {
        var node = PropertyNode.map(properties)
        var leaf = value
        for key in path.reversed() { leaf = .map([PropertyEntry(key, leaf)]) }
        node = node.merged(with: leaf)
        if case let .map(entries) = node { properties = entries }
    }

    /// Runs one callback with `maps` made accessible, then applies Envoy's
    /// deferred actions and the stop-iteration override.
    private func run(
        _ name: String, _ arguments: [UInt32], traceArgs: @autoclosure () -> [String: String], open maps: [HeaderMapType: MapAccess],
        buffer: (BufferType, [UInt8])? = nil, describe: @escaping (UInt32?) -> String?
    ) -> UInt32? {
        guard let context = ensureContext() else { return nil }
        syncProperties(context)
        for (map, access) in maps { context.mapAccess[map] = access }
        if let (type, bytes) = buffer {
            context.buffers[type] = bytes
            context.mutableBuffers.insert(type)
        }
        absorbAsynchronousActions()
        let result = vm.invoke(name, context: context.id, arguments, traceArgs: traceArgs(), describe: describe)
        if vm.isFailed {
            failStream()
            return nil
        }
        absorbAsynchronousActions()
        vm.runDeferredActions()
        return result
    }

    /// Takes in what the plugin did to this stream outside its own callbacks
    /// (a call-out answer or a tick resuming it through the effective
    /// context): local replies and `proxy_continue_stream`.
    private func absorbAsynchronousActions() {
        guard let context else { return }
        if let reply = context.localResponse, localResponse == nil {
            localResponse = reply
            vm.recordEvent(
                context: context.id, name: "local_reply",
                args: ["status": String(reply.statusCode), "details": reply.details])
        }
        for action in context.streamActions where action.kind == .resume {
            // Headers edited while the stream was held leave the filter now.
            if action.stream == .httpRequest && requestPaused {
                requestPaused = false
                requestHeaders = context.headerMaps[.httpRequestHeaders] ?? requestHeaders
                context.mapAccess[.httpRequestHeaders] = .unavailable
            }
            if action.stream == .httpResponse && responsePaused {
                responsePaused = false
                responseHeaders = context.headerMaps[.httpResponseHeaders] ?? responseHeaders
                context.mapAccess[.httpResponseHeaders] = .unavailable
            }
        }
        context.streamActions.removeAll()
    }

    /// Whether the filter holds the request (it stopped iteration and has not
    /// continued it yet, e.g. while it waits for a call-out).
    public var isRequestPaused: Bool {
        absorbAsynchronousActions()
        return requestPaused && localResponse == nil
    }

    /// Whether the filter holds the response.
    public var isResponsePaused: Bool {
        absorbAsynchronousActions()
        return responsePaused && localResponse == nil
    }

    /// The local reply, including one sent while the stream was paused.
    public var reply: LocalResponse? {
        absorbAsynchronousActions()
        return localResponse
    }

    // MARK: request

    /// Request headers arrive; returns the (converted) filter status.
    @discardableResult
    public func sendRequestHeaders(_ headers: [HeaderPair], endOfStream: Bool = true) -> FilterHeadersStatus {
        fillRequestProperties(headers)
        guard let context = ensureContext() else {
            requestHeaders = headers
            return .continue
        }
        context.headerMaps[.httpRequestHeaders] = HeaderMapRules.lowercasedKeys(headers)
        let raw = run(
            "proxy_on_request_headers", [context.id, UInt32(headers.count), endOfStream ? 1 : 0],
            traceArgs: ["headers": PluginVM.displayPairs(headers), "end_of_stream": String(endOfStream)],
            open: [.httpRequestHeaders: .mutable], describe: { $0.flatMap { FilterHeadersStatus(rawValue: $0)?.name } })
        let status = vm.convertHeadersResult(raw)
        requestHeaders = context.headerMaps[.httpRequestHeaders] ?? headers
        requestPaused = status != .continue && localResponse == nil
        if !requestPaused { context.mapAccess[.httpRequestHeaders] = .unavailable }
        return status
    }

    @discardableResult
    public func sendRequestBody(_ body: [UInt8], endOfStream: Bool = true) -> FilterDataStatus {
        requestBytesReceived += body.count
        guard let context = ensureContext(), localResponse == nil else {
            requestBody += body
            return .continue
        }
        let raw = run(
            "proxy_on_request_body", [context.id, UInt32(body.count), endOfStream ? 1 : 0],
            traceArgs: ["body": PluginVM.display(body), "end_of_stream": String(endOfStream)],
            open: [:], buffer: (.httpRequestBody, body), describe: { $0.flatMap { FilterDataStatus(rawValue: $0)?.name } })
        let status = vm.convertDataResult(raw)
        requestBody += context.buffers[.httpRequestBody] ?? body
        context.buffers[.httpRequestBody] = nil
        context.mutableBuffers.remove(.httpRequestBody)
        return status
    }

    @discardableResult
    public func sendRequestTrailers(_ trailers: [HeaderPair]) -> FilterTrailersStatus {
        guard let context = ensureContext(), localResponse == nil else { return .continue }
        context.headerMaps[.httpRequestTrailers] = trailers
        let raw = run(
            "proxy_on_request_trailers", [context.id, UInt32(trailers.count)],
            traceArgs: ["trailers": PluginVM.displayPairs(trailers)], open: [.httpRequestTrailers: .mutable],
            describe: { $0.flatMap { FilterTrailersStatus(rawValue: $0)?.name } })
        context.mapAccess[.httpRequestTrailers] = .unavailable
        return vm.convertTrailersResult(raw)
    }

    // MARK: response

    @discardableResult
    public func sendResponseHeaders(_ headers: [HeaderPair], endOfStream: Bool = true) -> FilterHeadersStatus {
        fillResponseProperties(headers)
        guard let context = ensureContext(), localResponse == nil else {
            responseHeaders = headers
            return .continue
        }
        context.headerMaps[.httpResponseHeaders] = HeaderMapRules.lowercasedKeys(headers)
        let raw = run(
            "proxy_on_response_headers", [context.id, UInt32(headers.count), endOfStream ? 1 : 0],
            traceArgs: ["headers": PluginVM.displayPairs(headers), "end_of_stream": String(endOfStream)],
            open: [.httpResponseHeaders: .mutable, .httpRequestHeaders: requestPaused ? .mutable : .unavailable],
            describe: { $0.flatMap { FilterHeadersStatus(rawValue: $0)?.name } })
        let status = vm.convertHeadersResult(raw)
        responseHeaders = context.headerMaps[.httpResponseHeaders] ?? headers
        responsePaused = status != .continue
        if !responsePaused { context.mapAccess[.httpResponseHeaders] = .unavailable }
        return status
    }

    @discardableResult
    public func sendResponseBody(_ body: [UInt8], endOfStream: Bool = true) -> FilterDataStatus {
        guard let context = ensureContext(), localResponse == nil else {
            responseBody += body
            return .continue
        }
        let raw = run(
            "proxy_on_response_body", [context.id, UInt32(body.count), endOfStream ? 1 : 0],
            traceArgs: ["body": PluginVM.display(body), "end_of_stream": String(endOfStream)],
            open: [:], buffer: (.httpResponseBody, body), describe: { $0.flatMap { FilterDataStatus(rawValue: $0)?.name } })
        let status = vm.convertDataResult(raw)
        responseBody += context.buffers[.httpResponseBody] ?? body
        context.buffers[.httpResponseBody] = nil
        context.mutableBuffers.remove(.httpResponseBody)
        return status
    }

    @discardableResult
    public func sendResponseTrailers(_ trailers: [HeaderPair]) -> FilterTrailersStatus {
        guard let context = ensureContext(), localResponse == nil else { return .continue }
        context.headerMaps[.httpResponseTrailers] = trailers
        let raw = run(
            "proxy_on_response_trailers", [context.id, UInt32(trailers.count)],
            traceArgs: ["trailers": PluginVM.displayPairs(trailers)], open: [.httpResponseTrailers: .mutable],
            describe: { $0.flatMap { FilterTrailersStatus(rawValue: $0)?.name } })
        context.mapAccess[.httpResponseTrailers] = .unavailable
        return vm.convertTrailersResult(raw)
    }

    /// Ends the stream: `proxy_on_log` (headers read-only, request trailers
    /// NotFound), `proxy_on_done`, `proxy_on_delete`.
    public func complete() {
        guard !completed else { return }
        completed = true
        guard let context, !vm.isFailed else { return }
        if let reply = localResponse {
            // The client saw the local reply: that is what the access log sees.
            context.headerMaps[.httpResponseHeaders] = [HeaderPair(":status", String(reply.statusCode))] + reply.headers
            fillResponseProperties(context.headerMaps[.httpResponseHeaders]!)
        }
        fillLogProperties(context)
        syncProperties(context)
        context.mapAccess = [
            .httpRequestHeaders: .readOnly, .httpResponseHeaders: .readOnly,
            .httpResponseTrailers: .readOnly, .httpRequestTrailers: .notFound,
        ]
        vm.invoke("proxy_on_log", context: context.id, [context.id])
        vm.invoke("proxy_on_done", context: context.id, [context.id], describe: { $0.map { $0 != 0 ? "true" : "false" } })
        vm.deleteContext(context.id)
        vm.runDeferredActions()
    }

    // MARK: properties derived from the wire

    /// The attributes Envoy has at log time, unless the scenario set them:
    /// `request.size` (content-length if present, else body bytes received),
    /// `request.total_size` (body + request header bytes), `response.size`
    /// (body bytes sent), `response.total_size` (body + response headers +
    /// trailers), `request.duration` (since the request headers, on the
    /// host's clock), `response.flags` (0: no flag; a scenario sets Envoy's
    /// bits for UH and the like) and `response.code_details` (`via_upstream`,
    /// or the local reply's details).
    private func fillLogProperties(_ context: ContextState) {
        func byteSize(_ pairs: [HeaderPair]?) -> Int64 { Int64((pairs ?? []).reduce(0) { $0 + $1.key.count + $1.value.count }) }
        let tree = PropertyNode.map(properties)
        func missing(_ section: String, _ key: String) -> Bool { tree.child(section)?.child(key) == nil }
        let requestHeaders = context.headerMaps[.httpRequestHeaders] ?? self.requestHeaders
        let received = Int64(requestBytesReceived)
        let sent = Int64(localResponse?.body.count ?? responseBody.count)
        if missing("request", "size") {
            let contentLength = header(requestHeaders, "content-length").flatMap { Int64($0) }
            setProperty(["request", "size"], .int(contentLength ?? received))
        }
        if missing("request", "total_size") { setProperty(["request", "total_size"], .int(received + byteSize(requestHeaders))) }
        if missing("response", "size") { setProperty(["response", "size"], .int(sent)) }
        if missing("response", "total_size") {
            let total = sent + byteSize(context.headerMaps[.httpResponseHeaders]) + byteSize(context.headerMaps[.httpResponseTrailers])
            setProperty(["response", "total_size"], .int(total))
        }
        if missing("request", "duration") {
            var started = Int64(vm.proxy.clock.nanoseconds)
            if case let .timestamp(time)? = tree.child("request")?.child("time") { started = time }
            setProperty(["request", "duration"], .duration(max(0, Int64(vm.proxy.clock.nanoseconds) - started)))
        }
        if missing("response", "flags") { setProperty(["response", "flags"], .int(0)) }
        if missing("response", "code_details") {
            setProperty(["response", "code_details"], .string(localResponse?.details ?? "via_upstream"))
        }
    }

    private func header(_ headers: [HeaderPair], _ name: String) -> String? {
        let key = Array(name.utf8)
        return headers.first { HeaderMapRules.lowercased($0.key) == key }?.valueString
    }

    private func fillRequestProperties(_ headers: [HeaderPair]) {
        var request: [PropertyEntry] = []
        if let path = header(headers, ":path") {
            request.append(PropertyEntry("path", .string(path)))
            request.append(PropertyEntry("url_path", .string(String(path.split(separator: "?", maxSplits: 1).first ?? ""))))
            if let query = path.split(separator: "?", maxSplits: 1).dropFirst().first {
                request.append(PropertyEntry("query", .string(String(query))))
            }
        }
        if let host = header(headers, ":authority") ?? header(headers, "host") { request.append(PropertyEntry("host", .string(host))) }
        if let method = header(headers, ":method") { request.append(PropertyEntry("method", .string(method))) }
        if let scheme = header(headers, ":scheme") { request.append(PropertyEntry("scheme", .string(scheme))) }
        if let id = header(headers, "x-request-id") { request.append(PropertyEntry("id", .string(id))) }
        if let agent = header(headers, "user-agent") { request.append(PropertyEntry("useragent", .string(agent))) }
        if let referer = header(headers, "referer") { request.append(PropertyEntry("referer", .string(referer))) }
        request.append(PropertyEntry("headers", .map(headers.map { PropertyEntry($0.keyString, .string($0.valueString)) })))
        request.append(PropertyEntry("time", .timestamp(Int64(vm.proxy.clock.nanoseconds))))
        properties = PropertyNode.map(properties).merged(with: .map([PropertyEntry("request", .map(request))])).entries
        if PropertyNode.map(properties).child("request")?.child("protocol") == nil {
            setProperty(["request", "protocol"], .string("HTTP/1.1"))
        }
    }

    private func fillResponseProperties(_ headers: [HeaderPair]) {
        if localResponse == nil {
            // A response from upstream: the upstream connection exists.
            properties = ConnectionAttributes.apply(
                ConnectionAttributes.upstream(id: vm.proxy.connectionID(of: streamState)),
                under: properties)
        }
        var response: [PropertyEntry] = []
        if let status = header(headers, ":status"), let code = Int64(status) {
            response.append(PropertyEntry("code", .int(code)))
        }
        response.append(PropertyEntry("headers", .map(headers.map { PropertyEntry($0.keyString, .string($0.valueString)) })))
        properties = PropertyNode.map(properties).merged(with: .map([PropertyEntry("response", .map(response))])).entries
    }
}
