import ProxyWasmABI

/// An HTTP call-out as the plugin sent it.
public struct HttpCalloutRequest: Equatable, Sendable {
    public let cluster: String
    /// Header keys lower-cased, as Envoy's header map holds them.
    public let headers: [HeaderPair]
    public let body: [UInt8]
    public let trailers: [HeaderPair]
    /// 0 means no timeout.
    public let timeoutMilliseconds: UInt32

    /// The first value of a header (name matched case-insensitively).
    public func header(_ name: String) -> String? {
        let key = HeaderMapRules.lowercased(Array(name.utf8))
        return headers.first { $0.key == key }?.valueString
    }
}

/// How an upstream answers an HTTP call-out.
public enum HttpCalloutReply: Equatable, Sendable {
    /// A response after `latencyMilliseconds` of virtual time. `:status` is
    /// added in front of `headers`.
    case response(
        status: Int, headers: [HeaderPair] = [], body: [UInt8] = [], trailers: [HeaderPair] = [],
        latencyMilliseconds: UInt64 = 0)
    /// The connection resets: the plugin sees `(0, 0, 0)` and status (11, "reset").
    case reset(latencyMilliseconds: UInt64 = 0)

    var latencyMilliseconds: UInt64 {
        switch self {
        case let .response(_, _, _, _, latency), let .reset(latency): return latency
        }
    }
}

/// A gRPC call or stream as the plugin opened it.
public struct GrpcCalloutRequest: Equatable, Sendable {
    public let cluster: String
    public let serviceName: String
    public let method: String
    /// Initial metadata, keys lower-cased.
    public let initialMetadata: [HeaderPair]
    /// Unary calls: the request message; streams: nil.
    public let message: [UInt8]?
    public let timeoutMilliseconds: UInt32
    public var isStream: Bool { message == nil }
}

/// What the plugin did on a gRPC exchange, as the responder sees it.
public enum GrpcCalloutInput: Equatable, Sendable {
    /// A unary call was sent (its message is in the request).
    case call
    /// A stream was opened.
    case streamOpened
    /// The plugin sent a message on a stream.
    case message([UInt8], endOfStream: Bool)
}

/// What the upstream sends back on a gRPC call or stream, in order.
public enum GrpcCalloutEvent: Equatable, Sendable {
    case initialMetadata([HeaderPair])
    case message([UInt8])
    case trailingMetadata([HeaderPair])
    /// The remote end closes with a gRPC status (0 = OK) and message.
    case close(status: UInt32, message: String)
}

/// A responder's answer to one gRPC input: events delivered after a latency.
public struct GrpcCalloutReply: Equatable, Sendable {
    public var events: [GrpcCalloutEvent]
    public var latencyMilliseconds: UInt64

    public init(_ events: [GrpcCalloutEvent] = [], latencyMilliseconds: UInt64 = 0) {
        self.events = events
        self.latencyMilliseconds = latencyMilliseconds
    }

    /// A unary success: one response message.
    public static func success(_ message: [UInt8], latencyMilliseconds: UInt64 = 0) -> GrpcCalloutReply {
        GrpcCalloutReply([.message(message)], latencyMilliseconds: latencyMilliseconds)
    }

    /// A failure with a gRPC status.
    public static func failure(status: UInt32, message: String = "", latencyMilliseconds: UInt64 = 0) -> GrpcCalloutReply {
        GrpcCalloutReply([.close(status: status, message: message)], latencyMilliseconds: latencyMilliseconds)
    }
}
