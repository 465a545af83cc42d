/// The kinds of call-out a token names. Envoy issues the tokens of each kind in
/// steps of four from its own start, so a token's remainder modulo four is its kind:
/// HTTP calls 4, 8, …; gRPC calls 5, 9, …; gRPC streams 6, 10, …
public enum CalloutKind: UInt32, Sendable {
    case httpCall = 0
    case grpcCall = 1
    case grpcStream = 2

    /// The kind `token` names, or nil for a token no call-out could have (remainder 3).
    public init?(token: UInt32) { self.init(rawValue: token % 4) }
}

/// The call-out tokens one VM has issued, numbered as Envoy numbers them.
public struct CalloutTokens: Sendable {
    private var last: [UInt32] = [0, 1, 2]

    public init() {}

    /// The next token of `kind`. A 32-bit counter, it wraps after 2^30 call-outs
    /// of one kind instead of trapping; a wrapped token still names its kind.
    public mutating func issue(_ kind: CalloutKind) -> UInt32 {
        let index = Int(kind.rawValue)
        last[index] &+= 4
        return last[index]
    }
}
