// Time and timers.

/// The host's wall clock and the root context's tick timer.
public enum Clock {
    /// Nanoseconds since the Unix epoch (Envoy: system time, not frozen).
    public static func nowNanoseconds() throws(HostError) -> UInt64 {
        var time: UInt64 = 0
        try check(proxy_get_current_time_nanoseconds(&time))
        return time
    }

    /// Arms (or with 0, disarms) `proxy_on_tick` for the current root context.
    public static func setTickPeriod(milliseconds: UInt32) throws(HostError) {
        try check(proxy_set_tick_period_milliseconds(milliseconds))
    }
}
