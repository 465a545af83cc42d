import TelemetryCore

/// The CEL expressions one VM created with `expr_create`, by the token Envoy
/// answers: 0, 1, 2, … per VM, never reused while the VM lives (a 32-bit counter
/// that wraps instead of trapping).
struct ExpressionTable {
    private var expressions: [UInt32: Expression] = [:]
    private var nextToken: UInt32 = 0

    /// Keeps `expression` and returns its token.
    mutating func insert(_ expression: Expression) -> UInt32 {
        let token = nextToken
        nextToken &+= 1
        expressions[token] = expression
        return token
    }

    /// The expression `token` names, if it was created and not deleted.
    func expression(_ token: UInt32) -> Expression? { expressions[token] }

    /// Deletes `token`'s expression; false if there was none.
    mutating func remove(_ token: UInt32) -> Bool { expressions.removeValue(forKey: token) != nil }
}
