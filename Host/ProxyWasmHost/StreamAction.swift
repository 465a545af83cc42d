import ProxyWasmABI

/// A `proxy_continue_stream` or `proxy_close_stream` a plugin made on one of
/// its context's streams (ABI 0.1.0's `proxy_continue_request` and
/// `proxy_continue_response` are continues of the request and response).
public struct StreamAction: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case resume
        case close

        /// The host call that asks for it.
        public var callName: String { self == .resume ? "proxy_continue_stream" : "proxy_close_stream" }
    }

    public let kind: Kind
    public let stream: StreamType

    public init(_ kind: Kind, _ stream: StreamType) {
        self.kind = kind
        self.stream = stream
    }
}
