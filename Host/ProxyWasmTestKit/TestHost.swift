import Foundation
import ProxyWasmABI
@_exported import ProxyWasmHost
import ProxyWasmNullVM
import ProxyWasmWasmKit
import Testing

/// A proxy-wasm module under test, for Swift Testing: one proxy, one VM,
/// helpers to configure, send traffic and read what the plugin did.
///
/// ```swift
/// @Test func stampsResponses() throws {
///     let host = try ProxyWasmTestHost(modulePath: "build/wasm/header_stamp.wasm")
///     host.setNodeMetadata(["NAME": "productpage-v1"])
///     try host.start(configuration: #"{"value": "v1"}"#)
///     let stream = host.request(path: "/reviews")
///     #expect(stream.responseHeaders.contains(HeaderPair("x-swift-stamp", "v1; node=productpage-v1")))
///     #expect(host.counter("header_stamp_requests_total") == 1)
/// }
/// ```
///
/// `ProxyWasmTestHost(native: MyPlugin.register)` runs the same plugin
/// compiled natively in the null VM (same host, same trace), so one test body
/// can check the `.wasm` and a debuggable native build.
///
/// In strict mode (the default) the kit records a test issue when the plugin
/// makes a host call this host does not implement, when a host call answers
/// `BadArgument` or `InvalidMemoryAccess` (almost always a plugin bug), when
/// a call meets the capability allow-list, or when the VM fails. Statuses a test expects can be allowed.
public final class ProxyWasmTestHost {
    public let proxy: Proxy
    public let vm: PluginVM
    /// WasmKit for a module, `NullVMGuest` for a native plugin.
    public let guest: GuestInstance
    public var strict: Bool
    /// Host-call statuses strict mode accepts besides Ok, NotFound and Empty.
    public var allowedStatuses: Set<String> = []
    public private(set) var root: UInt32?
    /// What `checkStrict` has already looked at: each problem is reported once.
    private var checkedEvents = 0
    private var checkedUnimplementedCalls = 0
    private var reportedFailure = false

    /// `allowedCapabilities` is Envoy's capability allow-list (empty: unrestricted).
    public init(
        module bytes: [UInt8], dialect: PropertyDialect = .current, strict: Bool = true,
        limits: GuestLimits = GuestLimits(), allowedCapabilities: Set<String> = []
    ) throws {
        proxy = Proxy(name: "test", dialect: dialect)
        vm = PluginVM(proxy: proxy, vmID: "test", trace: TraceRecorder())
        vm.allowedCapabilities = allowedCapabilities
        self.strict = strict
        guest = try WasmKitGuest.load(bytes, into: vm, limits: limits)
    }

    /// The plugin compiled natively (the null VM): `register` is its
    /// registration, e.g. `HeaderStampPlugin.register`.
    public init(
        native register: () -> Void, dialect: PropertyDialect = .current, strict: Bool = true,
        allowedCapabilities: Set<String> = []
    ) throws {
        proxy = Proxy(name: "test", dialect: dialect)
        vm = PluginVM(proxy: proxy, vmID: "test", trace: TraceRecorder())
        vm.allowedCapabilities = allowedCapabilities
        self.strict = strict
        guest = try NullVMGuest.load(into: vm, register: register)
    }

    public convenience init(
        modulePath: String, dialect: PropertyDialect = .current, strict: Bool = true,
        allowedCapabilities: Set<String> = []
    ) throws {
        guard let data = FileManager.default.contents(atPath: modulePath) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: modulePath])
        }
        try self.init(module: [UInt8](data), dialect: dialect, strict: strict, allowedCapabilities: allowedCapabilities)
    }

    /// Sets `xds.node` (id and metadata strings).
    public func setNodeMetadata(_ metadata: [String: String], id: String = "sidecar~127.0.0.1~test.default~cluster.local") {
        proxy.setNode(id: id, metadata: metadata.keys.sorted().map { PropertyEntry($0, .string(metadata[$0]!)) })
    }

    /// Sets any proxy-level property under `xds` (e.g. `listener_direction`).
    public func setXDS(_ key: String, _ value: PropertyNode) { proxy.setXDS(key, value) }

    /// Starts the plugin (context create, VM start, configure).
    @discardableResult
    public func start(
        configuration: String = "", name: String = "plugin", rootID: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> UInt32 {
        let id = try vm.startPlugin(PluginConfiguration(name: name, rootID: rootID, configuration: Array(configuration.utf8)))
        root = id
        checkStrict(sourceLocation)
        return id
    }

    /// One complete request/response through the plugin.
    @discardableResult
    public func request(
        path: String = "/", method: String = "GET", headers: [HeaderPair] = [],
        status: Int = 200, responseHeaders: [HeaderPair] = [], streamProperties: [PropertyEntry] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> HttpStream {
        let stream = HttpStream(vm: vm, root: root ?? 1, properties: streamProperties)
        stream.sendRequestHeaders([HeaderPair(":method", method), HeaderPair(":path", path)] + headers)
        stream.sendResponseHeaders([HeaderPair(":status", String(status))] + responseHeaders)
        stream.complete()
        checkStrict(sourceLocation)
        return stream
    }

    /// A stream to drive callback by callback.
    public func httpStream(properties: [PropertyEntry] = []) -> HttpStream {
        HttpStream(vm: vm, root: root ?? 1, properties: properties)
    }

    /// A TCP connection to drive callback by callback.
    public func tcpConnection(properties: [PropertyEntry] = []) -> TcpConnection {
        TcpConnection(vm: vm, root: root ?? 1, properties: properties)
    }

    /// Advances the virtual clock, firing due ticks.
    public func advanceClock(milliseconds: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        proxy.advanceClock(byMilliseconds: milliseconds)
        checkStrict(sourceLocation)
    }

    /// The value of counter or gauge `name` (as given to `proxy_define_metric`).
    public func counter(_ name: String) -> UInt64? { proxy.stats.stat(named: name)?.value }

    /// The samples recorded in histogram `name`.
    public func histogram(_ name: String) -> [UInt64] { proxy.stats.stat(named: name)?.samples ?? [] }

    /// Clusters the plugin's HTTP and gRPC call-outs reach; install responders here.
    public var upstreams: CalloutUpstreams { proxy.upstreams }

    public var logs: [LogLine] { proxy.logs }
    public var trace: [TraceEvent] { vm.trace.events }

    /// Records an issue for everything strict mode forbids since the last check.
    public func checkStrict(_ sourceLocation: SourceLocation = #_sourceLocation) {
        defer {
            checkedEvents = vm.trace.events.count
            checkedUnimplementedCalls = vm.unimplementedCalls.count
            if vm.failure != nil { reportedFailure = true }
        }
        guard strict else { return }
        if let failure = vm.failure, !reportedFailure {
            Issue.record("the VM failed in \(failure.callback): \(failure.message)", sourceLocation: sourceLocation)
        }
        for call in vm.unimplementedCalls.dropFirst(checkedUnimplementedCalls) {
            Issue.record("the plugin called \(call), which this host does not implement", sourceLocation: sourceLocation)
        }
        let tolerated = Set(["Ok", "NotFound", "Empty"]).union(allowedStatuses)
        for event in vm.trace.events.dropFirst(checkedEvents) where event.kind == .event && event.name == "restricted_capability" {
            Issue.record(
                "the plugin called \(event.args["function"] ?? "?"), which the capability allow-list refuses",
                sourceLocation: sourceLocation)
        }
        for event in vm.trace.events.dropFirst(checkedEvents) where event.kind == .hostcall {
            if let status = event.status, !status.hasPrefix("errno"), !tolerated.contains(status) {
                Issue.record("unexpected host-call status: \(TraceFormat.render(event))", sourceLocation: sourceLocation)
            }
        }
    }
}
