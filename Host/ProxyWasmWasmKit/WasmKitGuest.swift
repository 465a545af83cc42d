import ProxyWasmABI
import ProxyWasmHost
@_spi(Fuzzing) import WasmKit

/// Limits for a guest: a wasm-operator budget per callback (a runaway loop
/// is stopped and reported, never hangs the host) and a memory cap.
public struct GuestLimits: Sendable {
    /// Fuel (≈ wasm operators) one outermost callback may use; the module's
    /// wasm `start` function, `_initialize` and `main` get the same budget.
    public var fuelPerCallback: UInt64
    /// Linear memory may not grow past this (Envoy/V8: 1 GiB).
    public var maxMemoryBytes: Int
    /// Count operators by guest function (`WasmKitGuest.profile`); slows execution several times.
    public var profilesFunctions: Bool

    public init(fuelPerCallback: UInt64 = 500_000_000, maxMemoryBytes: Int = 1 << 30, profilesFunctions: Bool = false) {
        self.fuelPerCallback = fuelPerCallback
        self.maxMemoryBytes = maxMemoryBytes
        self.profilesFunctions = profilesFunctions
    }
}

/// What one export cost: how often the host called it from outside the
/// guest, and the wasm operators (WasmKit fuel) those calls ran in all.
public struct CallbackCost: Sendable, Equatable {
    public private(set) var calls: UInt64 = 0
    public private(set) var operators: UInt64 = 0

    public init() {}

    mutating func add(_ fuel: UInt64) {
        calls += 1
        operators += fuel
    }

    /// `operators` less what `earlier` had counted.
    public func since(_ earlier: CallbackCost?) -> CallbackCost {
        var cost = CallbackCost()
        cost.calls = calls - (earlier?.calls ?? 0)
        cost.operators = operators - (earlier?.operators ?? 0)
        return cost
    }
}

/// A module could not be loaded; `report` says why, like Envoy's log would.
public struct ModuleLoadError: Error, CustomStringConvertible {
    public let report: ModuleReport
    public let message: String
    public var description: String {
        ([message] + report.problems.map { "  " + $0 }).joined(separator: "\n")
    }
}

final class MemoryCap: ResourceLimiter, @unchecked Sendable {
    let maxBytes: Int
    init(maxBytes: Int) { self.maxBytes = maxBytes }
    func limitMemoryGrowth(to desired: Int) throws -> Bool { desired <= maxBytes }
    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 100_000 }
}

/// Arguments read straight from WasmKit's parameter buffer (no allocation).
struct ValueArguments: HostCallArguments {
    let values: UnsafeBufferPointer<Value>
    func i32(_ index: Int) -> UInt32 { values[index].i32 }
    func i64(_ index: Int) -> UInt64 { values[index].i64 }
}

/// A proxy-wasm module instantiated in WasmKit and linked to a `PluginVM`.
public final class WasmKitGuest: GuestInstance {
    public let report: ModuleReport
    public let limits: GuestLimits
    let store: Store
    let instance: Instance
    let wasmMemory: Memory
    let allocator: Function
    private var exportCache: [String: Function?] = [:]
    private var depth = 0
    /// Guest stacks not in use. WasmKit allocates (and the C allocator maps and
    /// unmaps) a 512 KiB stack per `invoke` otherwise; one per nesting level is
    /// kept, as a host call may run the guest's allocator while a callback runs.
    private var spareStacks: [GuestStack] = []
    private let engine: Engine
    /// Fuel used by all outermost callbacks so far (≈ wasm operators executed).
    public private(set) var fuelConsumed: UInt64 = 0
    /// Fuel by outermost export (`proxy_on_request_headers`, `_initialize`, ...):
    /// what `proxy-wasm-host run --cost` and the budget tests report.
    public private(set) var costs: [String: CallbackCost] = [:]
    private lazy var guestMemory = WasmKitMemory(guest: self)
    /// Operators by guest function, when `limits.profilesFunctions` is set.
    public private(set) var profile: OperatorProfile?

    /// Loads `bytes` as a proxy-wasm module for `vm`'s proxy: validates it
    /// like Envoy, links Envoy's host functions for its ABI version, checks
    /// export signatures, attaches it to `vm` and runs its start functions.
    public static func load(_ bytes: [UInt8], into vm: PluginVM, limits: GuestLimits = GuestLimits()) throws -> WasmKitGuest {
        var (report, parsed) = ModuleValidator.inspect(bytes)
        guard let module = parsed, report.isValid, let version = report.abiVersion else {
            throw ModuleLoadError(report: report, message: "Failed to load Wasm module")
        }
        let profile = limits.profilesFunctions ? OperatorProfile() : nil
        let engine = Engine(
            configuration: EngineConfiguration(memoryBoundsChecking: .software, fuelMetering: true),
            interceptor: profile.map { OperatorProfile.interceptor(for: $0) })
        let store = Store(engine: engine)
        profile?.attach(store)
        store.resourceLimiter = MemoryCap(maxBytes: limits.maxMemoryBytes)
        var imports = Imports()
        for row in hostFunctions(for: version) {
            guard module.imports.contains(where: { $0.module == row.module && $0.name == row.name }) else { continue }
            let moduleName = row.module
            let name = row.name
            let hasResult = !row.signature.results.isEmpty
            let handler = PluginVM.handler(module: moduleName, name: name)
            let function = Function(
                store: store, parameters: ModuleValidator.valueTypes(row.signature.parameters),
                results: ModuleValidator.valueTypes(row.signature.results)
            ) { [unowned vm] _, parameters, results in
                let value = try vm.dispatchHostCall(module: moduleName, name: name, handler: handler, ValueArguments(values: parameters))
                if hasResult { results[0] = .i32(value ?? 0) }
            }
            imports.define(module: moduleName, name: name, function)
        }
        let instance: Instance
        // Instantiation runs the module's wasm `start` function: it gets the
        // same fuel budget as a callback, so a looping start cannot hang the host.
        store.fuel = Fuel(remaining: limits.fuelPerCallback)
        do {
            instance = try module.instantiate(store: store, imports: imports)
        } catch {
            let text = "\(error)"
            report.problems.append(
                text.contains("out of fuel")
                    ? "the start function ran out of fuel (\(limits.fuelPerCallback) wasm operators)"
                    : "instantiation failed: \(error)")
            throw ModuleLoadError(report: report, message: "Failed to load Wasm module")
        }
        ModuleValidator.checkExports(instance, version: version, into: &report)
        guard let memory = instance.exports.first(where: { if case .memory = $0.value { return true } else { return false } }),
            case let .memory(wasmMemory) = memory.value
        else {
            report.problems.append("the module exports no memory")
            throw ModuleLoadError(report: report, message: "Failed to load Wasm module")
        }
        // Envoy prefers `malloc` over `proxy_on_memory_allocate`.
        guard let allocator = instance.exports[function: "malloc"] ?? instance.exports[function: "proxy_on_memory_allocate"] else {
            report.problems.append("Wasm module is missing malloc function.")
            throw ModuleLoadError(report: report, message: "Failed to load Wasm module")
        }
        if allocator.type != FunctionType(parameters: [.i32], results: [.i32]) {
            report.problems.append("Bad function signature for the allocator, want: i32 -> i32")
        }
        guard report.isValid else { throw ModuleLoadError(report: report, message: "Wasm VM failed") }
        let guest = WasmKitGuest(
            report: report, limits: limits, engine: engine, store: store, instance: instance,
            memory: wasmMemory, allocator: allocator)
        guest.profile = profile
        vm.attach(guest, abiVersion: version)
        try vm.runStartFunctions()
        return guest
    }

    private init(
        report: ModuleReport, limits: GuestLimits, engine: Engine, store: Store, instance: Instance,
        memory: Memory, allocator: Function
    ) {
        self.report = report
        self.limits = limits
        self.engine = engine
        self.store = store
        self.instance = instance
        self.wasmMemory = memory
        self.allocator = allocator
    }

    public var memory: ProxyWasmHost.GuestMemory { guestMemory }

    public func hasExport(_ name: String) -> Bool { export(name) != nil }

    private func export(_ name: String) -> Function? {
        if let cached = exportCache[name] { return cached }
        let function = instance.exports[function: name]
        exportCache[name] = function
        return function
    }

    public func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? {
        guard let function = export(name) else { return nil }
        // Exports were checked against the module's ABI version at load time;
        // the only narrower shapes are ABI 0.1.0's header callbacks, which
        // Envoy calls without the end-of-stream flag.
        let count = function.type.parameters.count
        return try run(function, arguments.prefix(count).map { .i32($0) }, name: name)
    }

    /// Runs a guest function; the outermost call gets a fresh fuel budget.
    func run(_ function: Function, _ arguments: [Value], name: String) throws -> UInt32? {
        let outermost = depth == 0
        if outermost { store.fuel = Fuel(remaining: limits.fuelPerCallback) }
        depth += 1
        defer {
            depth -= 1
            if outermost, let remaining = store.fuel?.remaining {
                let used = limits.fuelPerCallback - min(remaining, limits.fuelPerCallback)
                fuelConsumed += used
                costs[name, default: CallbackCost()].add(used)
            }
        }
        let stack = spareStacks.popLast() ?? GuestStack(engine: engine)
        defer { spareStacks.append(stack) }
        do {
            let results = try function.invoke(arguments, on: &stack.stack)
            return results.first?.i32
        } catch let error as RestrictedCallback {
            throw GuestTrap(message: error.description)
        } catch let error as GuestTrap {
            throw error
        } catch {
            let text = "\(error)"
            throw GuestTrap(
                message: text.hasPrefix("Trap: ") ? String(text.dropFirst(6)) : text,
                isOutOfFuel: text.contains("out of fuel"))
        }
    }

    /// Calls the guest allocator (re-entrant from inside a host call).
    func allocate(_ size: UInt32) throws -> UInt32 {
        try run(allocator, [.i32(size)], name: "allocator") ?? 0
    }

    /// Linear memory size in bytes.
    public var memoryByteCount: Int { wasmMemory.byteCount }
}

/// Bounds-checked access to a WasmKit memory (WasmKit itself `precondition`s,
/// which would crash the host on a bad guest pointer).
final class WasmKitMemory: ProxyWasmHost.GuestMemory {
    unowned let guest: WasmKitGuest

    init(guest: WasmKitGuest) { self.guest = guest }

    var byteCount: Int { guest.wasmMemory.byteCount }

    func read(_ address: UInt32, _ count: UInt32) -> [UInt8]? {
        guard contains(address, count) else { return nil }
        if count == 0 { return [] }
        return guest.wasmMemory.withUnsafeBufferPointer(offset: UInt(address), count: Int(count)) { Array($0) }
    }

    func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        guard bytes.count <= Int(UInt32.max), contains(address, UInt32(bytes.count)) else { return false }
        if bytes.isEmpty { return true }
        guest.wasmMemory.withUnsafeMutableBufferPointer(offset: UInt(address), count: bytes.count) { buffer in
            buffer.copyBytes(from: bytes)
        }
        return true
    }

    func allocate(_ size: UInt32) throws -> UInt32 { try guest.allocate(size) }
}
