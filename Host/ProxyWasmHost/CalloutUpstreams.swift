import ProxyWasmABI

/// An upstream cluster call-outs can reach. A cluster without a responder for
/// the protocol answers as Envoy does with no healthy host.
public struct CalloutCluster {
    public var http: ((HttpCalloutRequest) -> HttpCalloutReply)?
    public var grpc: ((GrpcCalloutRequest, GrpcCalloutInput) -> GrpcCalloutReply)?

    public init(
        http: ((HttpCalloutRequest) -> HttpCalloutReply)? = nil,
        grpc: ((GrpcCalloutRequest, GrpcCalloutInput) -> GrpcCalloutReply)? = nil
    ) {
        self.http = http
        self.grpc = grpc
    }
}

/// The clusters of one proxy and every call-out sent to them.
public final class CalloutUpstreams {
    /// Clusters by name; a call-out to any other name fails as in Envoy
    /// (BadArgument for HTTP, ParseFailure for gRPC).
    public var clusters: [String: CalloutCluster] = [:]
    /// Every HTTP call-out accepted, in order.
    public internal(set) var httpRequests: [HttpCalloutRequest] = []
    /// Every gRPC call or stream accepted, in order, with what the plugin sent on it.
    public internal(set) var grpcExchanges: [(request: GrpcCalloutRequest, input: GrpcCalloutInput)] = []

    public init() {}

    /// Adds (or replaces) a cluster answering HTTP call-outs.
    public func http(_ cluster: String, _ responder: @escaping (HttpCalloutRequest) -> HttpCalloutReply) {
        clusters[cluster, default: CalloutCluster()].http = responder
    }

    /// Adds (or replaces) a cluster answering gRPC calls and streams.
    public func grpc(_ cluster: String, _ responder: @escaping (GrpcCalloutRequest, GrpcCalloutInput) -> GrpcCalloutReply) {
        clusters[cluster, default: CalloutCluster()].grpc = responder
    }

    /// Envoy's reply when the router gives up waiting (the async client's timeout).
    static func timeoutResponse() -> HttpCalloutReply {
        let body = Array("upstream request timeout".utf8)
        return .response(
            status: 504,
            headers: [
                HeaderPair("content-length", String(body.count)),
                HeaderPair("content-type", "text/plain"),
            ], body: body)
    }

    /// Envoy's reply from a cluster with no healthy host.
    static func noHealthyUpstream() -> HttpCalloutReply {
        let body = Array("no healthy upstream".utf8)
        return .response(
            status: 503,
            headers: [
                HeaderPair("content-length", String(body.count)),
                HeaderPair("content-type", "text/plain"),
            ], body: body)
    }
}
