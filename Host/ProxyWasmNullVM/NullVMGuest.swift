import ProxyWasm
import ProxyWasmHost

/// The null VM: a plugin built on the ProxyWasm SDK and compiled natively,
/// driven by the same `PluginVM` (lifecycle, host functions, trace, metrics)
/// that drives its `.wasm` build under WasmKit. The SDK's raw calls come back
/// through `HostBridge` into `PluginVM.dispatchHostCall`, so both builds meet
/// one implementation of every host function, and their traces and metrics
/// can be compared line for line.
///
/// What differs from a wasm VM, by nature: a trap in native code (a Swift
/// runtime error) stops the process instead of failing the VM, there is no
/// instruction budget and no linear memory to exhaust, and the module makes no
/// WASI calls (the Swift runtime uses the system directly).
public final class NullVMGuest: GuestInstance {
    public let module: NativeModule
    private let scratch: ScratchMemory
    private let bridge: HostBridge

    public var memory: GuestMemory { scratch }

    private init(vm: PluginVM, exports: Set<String>, register: () -> Void) {
        let scratch = ScratchMemory()
        let bridge = HostBridge(vm: vm, memory: scratch)
        self.scratch = scratch
        self.bridge = bridge
        module = NativeModule(host: bridge, exports: exports, register: register)
    }

    /// Attaches a native plugin to `vm`, as `WasmKitGuest.load` attaches a
    /// module: `register` is the plugin's registration (e.g. `StatsPlugin.register`),
    /// `exports` what its wasm32 build exports (`ModuleExports`; by default every callback).
    @discardableResult
    public static func load(
        into vm: PluginVM, exports: Set<String> = ModuleExports.all, register: () -> Void
    ) throws(PluginStartError) -> NullVMGuest {
        let guest = NullVMGuest(vm: vm, exports: exports, register: register)
        vm.guest = guest
        try vm.runStartFunctions()
        return guest
    }

    public func hasExport(_ name: String) -> Bool { module.exports.contains(name) }

    /// Runs the callback natively. A host call that would have trapped the
    /// wasm guest (a restricted call) answered InternalFailure to the plugin;
    /// it is raised here, when the callback returns, and fails the VM.
    public func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? {
        guard let result = module.call(name, arguments) else {
            throw GuestTrap(message: "the native module has no export \(name)")
        }
        if let error = bridge.takePendingError() { throw GuestTrap(message: "\(error)") }
        return result
    }
}
