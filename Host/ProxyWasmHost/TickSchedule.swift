/// The tick timers of one VM's root contexts, as Envoy keeps them for
/// `proxy_set_tick_period_milliseconds`: a root has at most one period, a zero
/// period stops its ticks, and each tick falls one period after the previous
/// one fired (the first, one period after the period was set). Times are the
/// proxy's virtual nanoseconds.
public struct TickSchedule {
    private var periods: [UInt32: UInt64] = [:]
    private var due: [UInt32: UInt64] = [:]

    public init() {}

    /// The period `root` last set, in milliseconds (nil if it never set one).
    public func period(of root: UInt32) -> UInt64? { periods[root] }

    /// When `root`'s next tick falls (nil if it has none).
    public func nextTick(of root: UInt32) -> UInt64? { due[root] }

    /// Sets `root`'s period at `now`; zero stops its ticks.
    public mutating func setPeriod(_ milliseconds: UInt32, root: UInt32, now: UInt64) {
        periods[root] = UInt64(milliseconds)
        due[root] = milliseconds == 0 ? nil : now + Self.nanoseconds(milliseconds)
    }

    /// Records that `root`'s tick fires at `now` and schedules the next one.
    /// Returns false (and schedules nothing) if the root has no period any more.
    public mutating func fire(root: UInt32, now: UInt64) -> Bool {
        guard let period = periods[root], period > 0 else {
            due[root] = nil
            return false
        }
        due[root] = now + period * 1_000_000
        return true
    }

    /// Forgets `root` (its context was deleted).
    public mutating func remove(root: UInt32) {
        periods[root] = nil
        due[root] = nil
    }

    /// The earliest tick falling at or before `deadline`; of ticks falling at the
    /// same instant, the lowest root id's (so the order never depends on hashing).
    public func earliest(dueBy deadline: UInt64) -> (root: UInt32, due: UInt64)? {
        var earliest: (root: UInt32, due: UInt64)?
        for (root, time) in due where time <= deadline {
            if let current = earliest, current.due < time || (current.due == time && current.root < root) { continue }
            earliest = (root, time)
        }
        return earliest
    }

    private static func nanoseconds(_ milliseconds: UInt32) -> UInt64 { UInt64(milliseconds) * 1_000_000 }
}
