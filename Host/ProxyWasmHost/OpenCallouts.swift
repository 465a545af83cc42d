/// A VM's call-outs: the tokens it has issued (Envoy's numbering) and the gRPC
/// exchanges still open, by token. An HTTP call needs no entry: its one answer
/// is scheduled when it is sent.
struct OpenCallouts {
    private var tokens = CalloutTokens()
    private var grpcExchanges: [UInt32: GrpcExchange] = [:]

    /// The next token of `kind`.
    mutating func issue(_ kind: CalloutKind) -> UInt32 { tokens.issue(kind) }

    /// The open gRPC call or stream under `token`; nil once it ended.
    subscript(grpc token: UInt32) -> GrpcExchange? {
        get { grpcExchanges[token] }
        set { grpcExchanges[token] = newValue }
    }
}
