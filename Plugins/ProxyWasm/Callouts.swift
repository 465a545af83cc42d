// Call-outs: HTTP requests and gRPC calls or streams to an upstream cluster,
// answered later through callbacks. Envoy delivers every answer on the root
// context; the SDK routes it to the handler given when the call was made and
// first makes the calling context effective again, so a stream's handler can
// resume or answer its stream (`StreamControl.resume(.request)`).
//
// A handler runs at most once per answer event and never after its context
// was deleted.

/// The answer to an HTTP call-out, read from the host before the handler runs
/// (the host serves it on the root context only, and only during the
/// callback). Envoy reports a failed call-out (no such cluster, connection
/// failure, timeout, reset) with no headers: `failed`.
public struct HttpCalloutResponse: Sendable {
    public let token: UInt32
    /// Header keys as Envoy holds them (lower case), `:status` first.
    public let headers: [HeaderPair]
    public let body: [UInt8]
    public let trailers: [HeaderPair]

    public init(token: UInt32, headers: [HeaderPair], body: [UInt8], trailers: [HeaderPair]) {
        self.token = token
        self.headers = headers
        self.body = body
        self.trailers = trailers
    }

    public var failed: Bool { headers.isEmpty }

    /// The first value of the header `name` (lower case), nil if absent.
    public func header(_ name: String) -> [UInt8]? {
        let key = Array(name.utf8)
        for pair in headers where pair.key == key { return pair.value }
        return nil
    }

    /// The response's `:status`, nil when it failed or the value is not a 3-digit number.
    public var status: UInt32? {
        guard let bytes = header(":status"), bytes.count == 3 else { return nil }
        var value: UInt32 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + UInt32(byte - 0x30)
        }
        return value
    }
}

/// What a gRPC call or stream calls back with, each value read from the host
/// before the handler runs. Every handler is optional. A unary call ends
/// with `onMessage` (its reply; Envoy sends no close after a success) or with
/// `onClose` (a failure); a stream ends with `onClose`.
public struct GrpcHandlers {
    /// The server's initial metadata.
    public var onInitialMetadata: (([HeaderPair]) -> Void)?
    /// One message from the server.
    public var onMessage: (([UInt8]) -> Void)?
    /// The server's trailing metadata.
    public var onTrailingMetadata: (([HeaderPair]) -> Void)?
    /// The call or stream ended with this status.
    public var onClose: ((GrpcCallStatus) -> Void)?

    public init(
        onInitialMetadata: (([HeaderPair]) -> Void)? = nil, onMessage: (([UInt8]) -> Void)? = nil,
        onTrailingMetadata: (([HeaderPair]) -> Void)? = nil, onClose: ((GrpcCallStatus) -> Void)? = nil
    ) {
        self.onInitialMetadata = onInitialMetadata
        self.onMessage = onMessage
        self.onTrailingMetadata = onTrailingMetadata
        self.onClose = onClose
    }
}

/// How a gRPC call ended: the raw code (Envoy may use codes outside the enum),
/// its meaning, and the status message Envoy gave (`proxy_get_status`).
public struct GrpcCallStatus: Equatable, Sendable {
    public let code: UInt32
    public let message: String
    public var status: GrpcStatus? { GrpcStatus(rawValue: code) }
    public var isOK: Bool { code == 0 }

    public init(code: UInt32, message: String = "") {
        self.code = code
        self.message = message
    }
}

/// The gRPC service a call goes to: an Envoy cluster name, or a serialized
/// `envoy.config.core.v3.GrpcService` message.
public enum GrpcService: Sendable {
    case cluster(String)
    case serialized([UInt8])

    var bytes: [UInt8] {
        switch self {
        case let .cluster(name): return Array(name.utf8)
        case let .serialized(bytes): return bytes
        }
    }
}

/// An open gRPC stream: send messages on it, then close (half-close) or cancel it.
public struct GrpcStream: Sendable {
    public let token: UInt32

    /// Sends one message; `endOfStream` half-closes the stream after it.
    public func send(_ message: [UInt8], endOfStream: Bool = false) throws(HostError) {
        try check(withBytes(message) { proxy_grpc_send(token, $0.baseAddress, $0.count, endOfStream ? 1 : 0) })
    }

    /// Half-closes the stream: no more messages from us; answers still arrive.
    public func close() throws(HostError) { try check(proxy_grpc_close(token)) }

    /// Cancels the stream: no further callbacks arrive, not even `onClose`.
    public func cancel() throws(HostError) {
        try check(proxy_grpc_cancel(token))
        Dispatcher.shared.callouts?.remove(token)
    }
}

/// The call-out functions, shared by root and stream contexts.
enum Callouts {
    /// The VM's call-out hooks, made by its first call-out.
    static func router() -> CalloutHooks {
        if let hooks = Dispatcher.shared.callouts { return hooks }
        let hooks = CalloutHooks(CalloutRouter())
        Dispatcher.shared.callouts = hooks
        return hooks
    }

    static func http(
        from contextID: UInt32, cluster: String, headers: [HeaderPair], body: [UInt8], trailers: [HeaderPair],
        timeoutMilliseconds: UInt32, onResponse: @escaping (HttpCalloutResponse) -> Void
    ) throws(HostError) -> UInt32 {
        let encodedHeaders = HeaderPairs.encode(headers)
        let encodedTrailers = trailers.isEmpty ? [] : HeaderPairs.encode(trailers)
        var token: UInt32 = 0
        try check(
            withUTF8Bytes(cluster) { c in
                withBytes(encodedHeaders) { h in
                    withBytes(body) { b in
                        withBytes(encodedTrailers) { t in
                            proxy_http_call(
                                c.baseAddress, c.count, h.baseAddress, h.count, b.baseAddress, b.count,
                                t.baseAddress, t.count, timeoutMilliseconds, &token)
                        }
                    }
                }
            })
        router().add(token, contextID, .http(onResponse))
        return token
    }

    static func grpc(
        from contextID: UInt32, service: GrpcService, serviceName: String, method: String,
        initialMetadata: [HeaderPair], message: [UInt8], timeoutMilliseconds: UInt32,
        handlers: GrpcHandlers
    ) throws(HostError) -> UInt32 {
        let metadata = initialMetadata.isEmpty ? [] : HeaderPairs.encode(initialMetadata)
        var token: UInt32 = 0
        try check(
            withBytes(service.bytes) { s in
                withUTF8Bytes(serviceName) { n in
                    withUTF8Bytes(method) { m in
                        withBytes(metadata) { h in
                            withBytes(message) { b in
                                proxy_grpc_call(
                                    s.baseAddress, s.count, n.baseAddress, n.count, m.baseAddress, m.count,
                                    h.baseAddress, h.count, b.baseAddress, b.count, timeoutMilliseconds, &token)
                            }
                        }
                    }
                }
            })
        router().add(token, contextID, .grpc(isUnary: true, handlers))
        return token
    }

    static func grpcStream(
        from contextID: UInt32, service: GrpcService, serviceName: String, method: String,
        initialMetadata: [HeaderPair], handlers: GrpcHandlers
    ) throws(HostError) -> GrpcStream {
        let metadata = initialMetadata.isEmpty ? [] : HeaderPairs.encode(initialMetadata)
        var token: UInt32 = 0
        try check(
            withBytes(service.bytes) { s in
                withUTF8Bytes(serviceName) { n in
                    withUTF8Bytes(method) { m in
                        withBytes(metadata) { h in
                            proxy_grpc_stream(
                                s.baseAddress, s.count, n.baseAddress, n.count, m.baseAddress, m.count,
                                h.baseAddress, h.count, &token)
                        }
                    }
                }
            })
        router().add(token, contextID, .grpc(isUnary: false, handlers))
        return GrpcStream(token: token)
    }
}

/// A context that can make call-outs: the root context and HTTP streams.
/// The answer's handler runs with the calling context effective, so a
/// stream's handler can resume the request it paused or answer it locally.
/// The methods live once, in the protocol extension; conforming only
/// needs the context id.
public protocol CalloutContext: AnyObject {
    /// The context id the host assigned.
    var id: UInt32 { get }
}

extension RootContext: CalloutContext {}
extension HttpContext: CalloutContext {}

extension CalloutContext {
    /// Sends an HTTP request to `cluster` (headers must include `:method`,
    /// `:path` and `:authority`); `onResponse` runs with the answer or the
    /// failure. Returns the call's token.
    @discardableResult
    public func dispatchHttpCall(
        cluster: String, headers: [HeaderPair], body: [UInt8] = [], trailers: [HeaderPair] = [],
        timeoutMilliseconds: UInt32,
        onResponse: @escaping (HttpCalloutResponse) -> Void
    ) throws(HostError) -> UInt32 {
        try Callouts.http(
            from: id, cluster: cluster, headers: headers, body: body, trailers: trailers,
            timeoutMilliseconds: timeoutMilliseconds, onResponse: onResponse)
    }

    /// Calls `serviceName/method` once with `message`; the answer arrives through `handlers`.
    @discardableResult
    public func dispatchGrpcCall(
        service: GrpcService, serviceName: String, method: String,
        initialMetadata: [HeaderPair] = [], message: [UInt8], timeoutMilliseconds: UInt32,
        handlers: GrpcHandlers
    ) throws(HostError) -> UInt32 {
        try Callouts.grpc(
            from: id, service: service, serviceName: serviceName, method: method, initialMetadata: initialMetadata,
            message: message, timeoutMilliseconds: timeoutMilliseconds, handlers: handlers)
    }

    /// Opens a gRPC stream to `serviceName/method`.
    public func openGrpcStream(
        service: GrpcService, serviceName: String, method: String,
        initialMetadata: [HeaderPair] = [], handlers: GrpcHandlers
    ) throws(HostError) -> GrpcStream {
        try Callouts.grpcStream(
            from: id, service: service, serviceName: serviceName, method: method,
            initialMetadata: initialMetadata, handlers: handlers)
    }
}
