import ProxyWasmABI

/// One log line a plugin wrote.
public struct LogLine: Equatable, Sendable {
    public let level: LogLevel
    public let vmID: String
    public let rootID: String
    public let message: String
}
