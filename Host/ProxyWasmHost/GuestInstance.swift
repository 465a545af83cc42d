import ProxyWasmABI
import TelemetryCore

/// What runs the guest: WasmKit, or (later) the SDK compiled natively.
public protocol GuestInstance: AnyObject {
    var memory: GuestMemory { get }
    /// Whether the module exports a callback with this name (already
    /// signature-checked at load time).
    func hasExport(_ name: String) -> Bool
    /// Calls an export with i32 arguments; returns its i32 result if it has one.
    /// Throws `GuestTrap` when the guest traps or runs out of fuel.
    func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32?
}

/// The guest trapped (or exhausted its instruction budget).
public struct GuestTrap: Error, Equatable, CustomStringConvertible {
    public let message: String
    public let isOutOfFuel: Bool

    public init(message: String, isOutOfFuel: Bool = false) {
        self.message = message
        self.isOutOfFuel = isOutOfFuel
    }

    public var description: String { isOutOfFuel ? "instruction budget exhausted (\(message))" : message }
}

/// Why a VM stopped serving: as Envoy, one trap fails the VM for every context.
public struct VMFailure: Equatable, Sendable {
    public let state: FailState
    public let callback: String
    public let message: String
    /// The context whose callback was running when the VM failed (0 outside any context).
    public let contextID: UInt32
}
