import ProxyWasmABI

/// The time the guest sees: virtual, starts at a fixed instant, moves only
/// when told, so runs are reproducible.
public final class VirtualClock {
    /// 2026-01-01T00:00:00Z.
    public static let defaultStart: UInt64 = 1_767_225_600_000_000_000
    public var nanoseconds: UInt64
    /// Monotonic time for WASI (nanoseconds since the clock was created).
    public var monotonicNanoseconds: UInt64 { nanoseconds - start }
    private let start: UInt64

    public init(nanoseconds: UInt64 = VirtualClock.defaultStart) {
        self.nanoseconds = nanoseconds
        self.start = nanoseconds
    }
}
