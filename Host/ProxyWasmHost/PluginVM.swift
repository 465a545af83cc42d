import ProxyWasmABI
import TelemetryCore

/// One module instance (a VM) on a proxy: contexts, the current and
/// effective context, timers, and the host-call semantics bound in
/// `HostCallTable.swift` (one file per domain). Engine-agnostic: the guest is any `GuestInstance`.
public final class PluginVM {
    public let proxy: Proxy
    public let vmID: String
    /// The module's proxy-wasm ABI version: set by the engine binding from the
    /// module's marker export when it loads one (0.2.1 until then, and for the null VM).
    public internal(set) var abiVersion: ABIVersion
    public let trace: TraceRecorder
    /// Stamped on this VM's trace events when several VMs share a recorder.
    public var traceSource: String?
    /// The running module (set by the engine binding when it loads one).
    public var guest: GuestInstance?
    public private(set) var failure: VMFailure?
    /// Host calls the guest made that this host does not implement (they
    /// answered Envoy's status, e.g. Unimplemented); strict test kits fail on these.
    public internal(set) var unimplementedCalls: [String] = []
    /// Calls answered NotFound, Unimplemented or refused, counted (`proxy-wasm-host run`'s summary).
    public internal(set) var answers = HostAnswerTally()

    /// The contexts, their ids and plugins, and the roots parked after `proxy_on_done`.
    var registry = ContextRegistry()
    /// The callback running now: its context, the effective context and Envoy's restrictions.
    var frame = CallbackFrame()
    /// The roots' tick timers.
    public internal(set) var ticks = TickSchedule()
    var foreignFunctions: [String: ForeignFunction] = [:]
    /// Expressions made with `expr_create`.
    var expressions = ExpressionTable()
    /// Properties the plugin declared with `declare_property`, by name.
    public internal(set) var declaredProperties: [String: DeclaredProperty] = [:]
    /// What waits for the current VM call to return: root deletions and queue notifications.
    var deferred = DeferredWork()
    /// What `random_get` answers.
    var random = ReproducibleRandom()
    /// Call-out tokens as Envoy numbers them, and the gRPC exchanges still open.
    var callouts = OpenCallouts()
    /// Envoy's `vm_config.capability_restriction_config.allowed_capabilities`:
    /// when non-empty, only the listed `proxy_*` host functions, WASI
    /// functions (bare names such as `fd_write`) and `proxy_on_*` callbacks
    /// are live. The rest still link, as stubs (`CapabilityRestriction.swift`).
    /// Set before loading the module; empty means unrestricted.
    public var allowedCapabilities: Set<String> = []

    public init(proxy: Proxy, vmID: String, abiVersion: ABIVersion = .v0_2_1, trace: TraceRecorder = TraceRecorder(enabled: false)) {
        self.proxy = proxy
        self.vmID = vmID
        self.abiVersion = abiVersion
        self.trace = trace
        registerEnvoyForeignFunctions()
        proxy.vms.append(self)
    }

    public var isFailed: Bool { failure != nil }

    /// The context host calls act on: the effective one if set and alive, else the current one.
    var activeContext: ContextState? {
        if frame.effectiveContextID != 0, let context = registry[frame.effectiveContextID] { return context }
        return registry[frame.currentContextID]
    }

    /// The live contexts by id.
    public var contexts: [UInt32: ContextState] { registry.byID }

    func context(_ id: UInt32) -> ContextState? { registry[id] }

    /// Marks the VM failed, as Envoy does after a trap or a refused start.
    func fail(_ state: FailState, callback: String, message: String) {
        guard failure == nil else { return }
        failure = VMFailure(state: state, callback: callback, message: message, contextID: frame.currentContextID)
        recordEvent(
            context: frame.currentContextID, name: "vm_failed",
            args: ["state": state.name, "callback": callback, "message": message])
        proxy.appendLog(
            LogLine(
                level: .error, vmID: vmID, rootID: "",
                message: "Function: \(callback) failed: \(message)"))
    }

    /// Records a host-side event, stamped with this VM's source.
    func recordEvent(context: UInt32, name: String, args: [String: String]) {
        let saved = trace.source
        trace.source = traceSource
        trace.record(.event, context: context, name: name, args: args)
        trace.source = saved
    }

    /// Calls a guest export as a callback on `context`, with Envoy's
    /// save/restore of the current and effective context. Missing optional
    /// callbacks and failed VMs return `nil` without calling.
    @discardableResult
    func invoke(
        _ name: String, context: UInt32, _ arguments: [UInt32], traceArgs: @autoclosure () -> [String: String] = [:],
        describe: ((UInt32?) -> String?)? = nil
    ) -> UInt32? {
        guard failure == nil, let guest, guest.hasExport(name), callbackAllowed(name) else { return nil }
        let savedCurrent = frame.currentContextID
        let savedEffective = frame.effectiveContextID
        let savedSource = trace.source
        trace.source = traceSource
        frame.currentContextID = context
        frame.effectiveContextID = 0
        let event = trace.record(.callback, context: context, name: name, args: traceArgs())
        trace.depth += 1
        defer {
            trace.depth -= 1
            frame.currentContextID = savedCurrent
            frame.effectiveContextID = savedEffective
            trace.source = savedSource
        }
        do {
            let result = try guest.call(name, arguments)
            trace.complete(event, result: describe?(result) ?? result.map { String($0) })
            return result
        } catch let trap as GuestTrap {
            trace.complete(event, result: "trap: \(trap)")
            fail(.runtimeError, callback: name, message: trap.description)
            return nil
        } catch {
            trace.complete(event, result: "trap: \(error)")
            fail(.runtimeError, callback: name, message: "\(error)")
            return nil
        }
    }

    func fireTick(root: UInt32) {
        guard ticks.fire(root: root, now: proxy.clock.nanoseconds) else { return }
        invoke("proxy_on_tick", context: root, [root], traceArgs: [:])
        runDeferredActions()
    }
}
