import ProxyWasmABI

// Logging, the log level, the clock and the tick period.

extension PluginVM {
    // MARK: logging, time

    func proxyLog(level logLevel: LogLevel, message: [UInt8]) throws -> UInt32 {
        let text = String(decoding: message, as: UTF8.self)
        if logLevel >= proxy.logLevel {
            let root = activeContext.flatMap { registry.plugin(ofRoot: $0.rootID)?.rootID } ?? ""
            proxy.appendLog(LogLine(level: logLevel, vmID: vmID, rootID: root, message: text))
        }
        return finish("proxy_log", .ok, args: ["level": logLevel.name, "message": text])
    }

    func proxyGetLogLevel(level: WordOutput) throws -> UInt32 {
        guard store(proxy.logLevel.rawValue, in: level) else {
            return finish("proxy_get_log_level", .invalidMemoryAccess)
        }
        return finish("proxy_get_log_level", .ok, result: proxy.logLevel.name)
    }

    func proxyGetCurrentTimeNanoseconds(time: UInt64Output) throws -> UInt32 {
        guard store(proxy.clock.nanoseconds, in: time) else {
            return finish("proxy_get_current_time_nanoseconds", .invalidMemoryAccess)
        }
        return finish("proxy_get_current_time_nanoseconds", .ok, result: String(proxy.clock.nanoseconds))
    }

    func proxySetTickPeriodMilliseconds(period milliseconds: UInt32) throws -> UInt32 {
        let root = activeContext?.rootID ?? frame.currentContextID
        ticks.setPeriod(milliseconds, root: root, now: proxy.clock.nanoseconds)
        return finish("proxy_set_tick_period_milliseconds", .ok, args: ["milliseconds": String(milliseconds)])
    }
}
