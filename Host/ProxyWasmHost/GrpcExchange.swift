/// gRPC exchanges a VM has in flight, by token.
struct GrpcExchange {
    let request: GrpcCalloutRequest
    var localClosed = false
}
