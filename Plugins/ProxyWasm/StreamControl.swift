// Stream control: local replies, continue/close, effective context,
// `proxy_done` and foreign functions.

/// Operations on the current stream or VM.
public enum StreamControl {
    /// Answers the current HTTP request locally. Envoy defers the reply until
    /// the callback returns and overrides the callback's return value.
    public static func sendLocalResponse(
        status: UInt32,
        details: String = "",
        body: [UInt8] = [],
        headers: [HeaderPair] = [],
        grpcStatus: GrpcStatus = .noStatus
    ) throws(HostError) {
        let encodedHeaders = headers.isEmpty ? [] : HeaderPairs.encode(headers)
        try check(
            withUTF8Bytes(details) { d in
                withBytes(body) { b in
                    withBytes(encodedHeaders) { h in
                        proxy_send_local_response(
                            status, d.baseAddress, d.count, b.baseAddress, b.count,
                            h.baseAddress, h.count, grpcStatus.rawValue)
                    }
                }
            })
    }

    /// Resumes a paused stream.
    public static func resume(_ stream: StreamType) throws(HostError) {
        try check(proxy_continue_stream(stream.rawValue))
    }

    /// Resets or closes a stream.
    public static func close(_ stream: StreamType) throws(HostError) {
        try check(proxy_close_stream(stream.rawValue))
    }

    /// Makes `contextID` the target of the following host calls in this
    /// callback (needed before touching a stream from a root-context callback).
    public static func setEffectiveContext(_ contextID: UInt32) throws(HostError) {
        try check(proxy_set_effective_context(contextID))
    }

    /// Tells the host a root context that answered `false` to `onDone` has finished.
    public static func done() throws(HostError) {
        try check(proxy_done())
    }

    /// Calls a host-provided foreign function (Envoy: `declare_property`,
    /// `set_envoy_filter_state`, `clear_route_cache`, `compress`, ...).
    public static func callForeignFunction(_ name: String, arguments: [UInt8]) throws(HostError) -> [UInt8] {
        let result: Result<[UInt8], HostError> = withUTF8Bytes(name) { n in
            withBytes(arguments) { a in
                do throws(HostError) {
                    return .success(
                        try hostBytes {
                            proxy_call_foreign_function(n.baseAddress, n.count, a.baseAddress, a.count, $0, $1)
                        })
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }

    /// The root context's last call-out status (`proxy_get_status`).
    public static func status() throws(HostError) -> (code: UInt32, message: String) {
        var code: UInt32 = 0
        let message = try hostBytes { proxy_get_status(&code, $0, $1) }
        return (code, String(decoding: message, as: UTF8.self))
    }
}
