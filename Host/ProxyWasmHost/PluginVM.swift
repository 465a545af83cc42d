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
}

/// How each header map can be reached in the current callback (Envoy keeps
/// raw pointers only while the stream holds the map).
public enum MapAccess: Equatable, Sendable {
    /// BadArgument for value calls, empty for `get_header_map_pairs`.
    case unavailable
    /// NotFound (request trailers in the access-log phase).
    case notFound
    case readOnly
    case mutable
}

/// A local reply a plugin sent with `proxy_send_local_response`.
public struct LocalResponse: Equatable, Sendable {
    public let statusCode: UInt32
    public let details: String
    public let body: [UInt8]
    public let headers: [HeaderPair]
    public let grpcStatus: UInt32?
}

/// What Envoy keeps per stream across all its filters: the filter state.
/// Every plugin on the same stream of a proxy shares one (metadata exchange
/// writes `wasm.upstream_peer`, stats reads it).
public final class StreamState {
    public var filterState: [String: [UInt8]] = [:]
    /// How each `wasm.<name>` entry was declared by the plugin that set it
    /// (Envoy keeps the prototype with the filter-state object, so every
    /// plugin reading it sees the declared type).
    public var declarations: [String: DeclaredProperty] = [:]
    /// Envoy's id of the downstream connection (one per stream or connection
    /// here), shared by every plugin that sees it; given by the proxy on first use.
    public var connectionID: UInt64?
    public init() {}
}

/// Host-side state of one context.
public final class ContextState {
    public enum Kind: String, Sendable { case root, http, tcp }

    public let id: UInt32
    public let rootID: UInt32
    public let kind: Kind
    /// Header maps by `HeaderMapType`, as the wire sees them.
    public internal(set) var headerMaps: [HeaderMapType: [HeaderPair]] = [:]
    var mapAccess: [HeaderMapType: MapAccess] = [:]
    /// The data a buffer call sees right now (nil: NotFound).
    var buffers: [BufferType: [UInt8]] = [:]
    var mutableBuffers: Set<BufferType> = []
    /// `request.*`, `connection.*`, `xds.cluster_name`, ... for this stream.
    public var streamProperties: PropertyNode?
    /// The stream's shared state (filter state), common to all plugins on the stream.
    public let stream: StreamState
    /// Filter state by full key (`wasm.<name>`).
    public internal(set) var filterState: [String: [UInt8]] {
        get { stream.filterState }
        set { stream.filterState = newValue }
    }
    public internal(set) var localResponse: LocalResponse?
    /// `proxy_continue_stream` / `proxy_close_stream` calls, in order.
    public internal(set) var streamActions: [(action: String, stream: StreamType)] = []
    /// Root contexts: what `proxy_get_status` reads (set before a failed HTTP
    /// call-out response and before `proxy_on_grpc_close`).
    var statusCode: UInt32 = 0
    var statusMessage: [UInt8] = []

    init(id: UInt32, rootID: UInt32, kind: Kind, stream: StreamState = StreamState()) {
        self.id = id
        self.rootID = rootID
        self.kind = kind
        self.stream = stream
    }

    func access(_ map: HeaderMapType) -> MapAccess { mapAccess[map] ?? .unavailable }
}

/// A plugin's root context: its configuration and identity.
public struct PluginConfiguration: Sendable {
    public var name: String
    public var rootID: String
    public var vmID: String
    public var configuration: [UInt8]
    public var vmConfiguration: [UInt8]
    /// Envoy `failure_policy: FAIL_OPEN`: a failed VM is bypassed instead of answering 503.
    public var failOpen: Bool

    public init(name: String, rootID: String? = nil, vmID: String? = nil, configuration: [UInt8] = [],
                vmConfiguration: [UInt8] = [], failOpen: Bool = false) {
        self.name = name
        self.rootID = rootID ?? name
        self.vmID = vmID ?? name
        self.configuration = configuration
        self.vmConfiguration = vmConfiguration
        self.failOpen = failOpen
    }
}

/// One module instance (a VM) on a proxy: contexts, the current and
/// effective context, timers, and the host-call semantics of
/// `HostCalls.swift`. Engine-agnostic: the guest is any `GuestInstance`.
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

    public internal(set) var contexts: [UInt32: ContextState] = [:]
    var plugins: [UInt32: PluginConfiguration] = [:]
    var nextContextID: UInt32 = 1
    var currentContextID: UInt32 = 0
    var effectiveContextID: UInt32 = 0
    /// Set by `proxy_send_local_response`: overrides the callback's return value.
    var stopNextIteration = false
    /// Inside `proxy_on_configure` (and the root's first context create): the
    /// plugin configuration buffer is readable.
    var pluginConfigurationReadable: UInt32?
    /// Envoy's V8 restricts host calls during `_initialize` and the allocator.
    var restriction: Restriction = .none
    var tickPeriods: [UInt32: UInt64] = [:]
    var nextTicks: [UInt32: UInt64] = [:]
    /// Root contexts whose `proxy_on_done` returned false.
    var pendingDone: Set<UInt32> = []
    var foreignFunctions: [String: ForeignFunction] = [:]
    /// Expressions made with `expr_create`, by token.
    var expressions: [UInt32: Expression] = [:]
    var nextExpressionToken: UInt32 = 0
    /// Properties the plugin declared with `declare_property`, by name.
    public internal(set) var declaredProperties: [String: DeclaredProperty] = [:]
    var callDepth = 0
    /// Root contexts to delete after the current callback (`proxy_done`).
    var deferredDeletes: [UInt32] = []
    /// `proxy_on_queue_ready` notifications posted by enqueues (Envoy posts them asynchronously).
    var deferredQueueNotifications: [(root: UInt32, token: UInt32)] = []
    var randomState: UInt64 = 0x5EED
    /// Call-out tokens as Envoy numbers them: HTTP 4, 8, ...; gRPC calls 5, 9, ...; streams 6, 10, ...
    var nextHttpCallToken: UInt32 = 0
    var nextGrpcCallToken: UInt32 = 1
    var nextGrpcStreamToken: UInt32 = 2
    var grpcExchanges: [UInt32: GrpcExchange] = [:]
    /// The context whose callback was running when the VM failed.
    var currentContextIDAtFailure: UInt32 = 0
    /// Envoy's `vm_config.capability_restriction_config.allowed_capabilities`:
    /// when non-empty, only the listed `proxy_*` host functions, WASI
    /// functions (bare names such as `fd_write`) and `proxy_on_*` callbacks
    /// are live. The rest still link, as stubs (`CapabilityRestriction.swift`).
    /// Set before loading the module; empty means unrestricted.
    public var allowedCapabilities: Set<String> = []

    enum Restriction { case none, startup, allocator }

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
        if effectiveContextID != 0, let context = contexts[effectiveContextID] { return context }
        return contexts[currentContextID]
    }

    func context(_ id: UInt32) -> ContextState? { contexts[id] }

    /// Marks the VM failed, as Envoy does after a trap or a refused start.
    func fail(_ state: FailState, callback: String, message: String) {
        guard failure == nil else { return }
        currentContextIDAtFailure = currentContextID
        failure = VMFailure(state: state, callback: callback, message: message)
        recordEvent(context: currentContextID, name: "vm_failed",
                    args: ["state": state.name, "callback": callback, "message": message])
        proxy.appendLog(LogLine(level: .error, vmID: vmID, rootID: "",
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
    func invoke(_ name: String, context: UInt32, _ arguments: [UInt32], traceArgs: [String: String] = [:],
                describe: ((UInt32?) -> String?)? = nil) -> UInt32? {
        guard failure == nil, let guest, guest.hasExport(name), callbackAllowed(name) else { return nil }
        let savedCurrent = currentContextID
        let savedEffective = effectiveContextID
        let savedSource = trace.source
        trace.source = traceSource
        currentContextID = context
        effectiveContextID = 0
        let event = trace.record(.callback, context: context, name: name, args: traceArgs)
        trace.depth += 1
        callDepth += 1
        defer {
            callDepth -= 1
            trace.depth -= 1
            currentContextID = savedCurrent
            effectiveContextID = savedEffective
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
        guard let period = tickPeriods[root], period > 0 else {
            nextTicks[root] = nil
            return
        }
        nextTicks[root] = proxy.clock.nanoseconds + period * 1_000_000
        invoke("proxy_on_tick", context: root, [root], traceArgs: [:])
        runDeferredActions()
    }
}
