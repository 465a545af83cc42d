// Logging through `proxy_log`. Messages are built only when the host's level
// lets them through (`@autoclosure`), because string building is the most
// expensive thing a plugin does inside an interpreter.

/// The host's log, at the six proxy-wasm levels.
public enum Log {
    /// The host's current log level (`proxy_get_log_level`), or `trace` if the
    /// host cannot say (then every message is sent and the host filters).
    public static var hostLevel: LogLevel {
        var raw: UInt32 = 0
        if proxy_get_log_level(&raw) != 0 { return .trace }
        return LogLevel(rawValue: raw) ?? .critical
    }

    /// Whether a message at `level` would be emitted.
    public static func isEnabled(_ level: LogLevel) -> Bool { level >= hostLevel }

    /// Sends `message` at `level` if the host's level lets it through.
    public static func write(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        send(level, message())
    }

    /// Hands a built message to the host. Out of line: the optimizer copies
    /// `write` into each call site with its message closure, and this part
    /// needs no copy.
    @inline(never)
    static func send(_ level: LogLevel, _ text: String) {
        _ = withUTF8Bytes(text) { proxy_log(level.rawValue, $0.baseAddress, $0.count) }
    }

    public static func trace(_ message: @autoclosure () -> String) { write(.trace, message()) }
    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    public static func warn(_ message: @autoclosure () -> String) { write(.warn, message()) }
    public static func error(_ message: @autoclosure () -> String) { write(.error, message()) }
    public static func critical(_ message: @autoclosure () -> String) { write(.critical, message()) }
}
