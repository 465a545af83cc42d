import WasmKit

/// Wasm operators (WasmKit fuel) by guest function: what `proxy-wasm-host run
/// --profile` prints, so a plugin author sees which functions a request pays
/// for. Names come from the module's `name` section (a module linked without
/// `--strip-all`); a stripped module shows function indices.
///
/// Fuel is charged when a straight-line region starts, so a function's count
/// includes its region's operators even when it returns early: figures are
/// exact in sum and close per function.
public final class OperatorProfile {
    /// One function's totals.
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// Calls that entered the function.
        public internal(set) var calls: UInt64 = 0
        /// Operators run by the function's own code.
        public internal(set) var selfOperators: UInt64 = 0
        /// Operators run by the function and everything it called.
        public internal(set) var inclusiveOperators: UInt64 = 0
    }

    private var entries: [String: Entry] = [:]
    /// Open calls: function name, fuel remaining at entry, operators of finished callees.
    private var stack: [(name: String, fuelAtEntry: UInt64, children: UInt64)] = []
    private weak var store: Store?

    init() {}

    func attach(_ store: Store) { self.store = store }

    /// Every function that ran, costliest own code first.
    public var functions: [Entry] {
        entries.values.sorted { $0.selfOperators != $1.selfOperators ? $0.selfOperators > $1.selfOperators : $0.name < $1.name }
    }

    /// Forgets what was counted (e.g. startup, before the traffic).
    public func reset() {
        entries.removeAll()
        stack.removeAll()
    }

    private var remainingFuel: UInt64 { store?.fuel?.remaining ?? 0 }

    /// Fed by WasmKit's interceptor events (function entry and exit).
    func event(_ line: String) {
        guard let phase = Self.field(line, "\"ph\":\""), let name = Self.field(line, "\"name\":\"") else { return }
        let fuel = remainingFuel
        if phase == "B" {
            stack.append((name, fuel, 0))
            return
        }
        // A trap unwinds without exit events: close the frames above the one exiting.
        while let top = stack.popLast() {
            // The fuel counter restarts at every outermost callback; never let a refill read as negative cost.
            let inclusive = top.fuelAtEntry >= fuel ? top.fuelAtEntry - fuel : 0
            var entry = entries[top.name] ?? Entry(name: top.name)
            entry.calls += 1
            entry.inclusiveOperators += inclusive
            entry.selfOperators += inclusive >= top.children ? inclusive - top.children : 0
            entries[top.name] = entry
            if !stack.isEmpty { stack[stack.count - 1].children += inclusive }
            if top.name == name { break }
        }
    }

    /// The JSON string value after `key` (names are symbolicated, already escaped).
    static func field(_ line: String, _ key: String) -> String? {
        guard let start = line.range(of: key)?.upperBound,
            let end = line[start...].range(of: "\",\"")?.lowerBound ?? line[start...].range(of: "\"}")?.lowerBound
        else { return nil }
        return String(line[start..<end])
    }

    /// An interceptor that reports to `profile`.
    static func interceptor(for profile: OperatorProfile) -> EngineInterceptor {
        GuestTimeProfiler { [weak profile] line in profile?.event(line) }
    }
}
