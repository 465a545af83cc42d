// Layer 4: the dispatcher. It owns every context, routes each `proxy_on_*`
// callback to the right object and turns results into ABI values. Unknown
// context ids are answered with "continue" and never trap: a plugin must not
// take traffic down because the host and plugin disagree about a context.

/// Registration entry point for plugins.
public enum ProxyWasm {
    /// Installs the factory that creates a root context for every plugin
    /// configuration the host starts. Call it from the plugin's
    /// `proxy_wasm_swift_main` (wasm) or from a test (native).
    public static func setRootContextFactory(_ factory: @escaping (UInt32) -> RootContext) {
        Dispatcher.shared.rootFactory = factory
    }
}

/// The context registry. One per VM (module instance).
public final class Dispatcher {
    #if arch(wasm32)
    nonisolated(unsafe) public static let shared = Dispatcher()
    #else
    /// Natively several VMs share one process: `NativeModule` makes its own
    /// dispatcher the shared one for the task running its callback.
    public static var shared: Dispatcher { scoped?.value ?? process }
    nonisolated(unsafe) static let process = Dispatcher()
    @TaskLocal static var scoped: Scoped<Dispatcher>?
    #endif

    var rootFactory: ((UInt32) -> RootContext)?
    private var contexts = ContextTable()
    /// Routes call-out answers to their handlers; installed by the first
    /// call-out (`Callouts`), so a module that never calls out links none of it.
    var callouts: CalloutHooks?
    private var registered = false

    init() {}

    /// Number of live contexts of each kind (for leak tests).
    public var liveContextCounts: (roots: Int, http: Int, tcp: Int, pending: Int) {
        var counts = (roots: 0, http: 0, tcp: 0, pending: 0)
        for entry in contexts.values {
            switch entry {
            case .root: counts.roots += 1
            case .http: counts.http += 1
            case .tcp: counts.tcp += 1
            case .pending: counts.pending += 1
            }
        }
        return counts
    }

    /// Drops every context and the factory (native tests between cases).
    public func reset() {
        contexts = ContextTable()
        callouts = nil
        rootFactory = nil
        registered = true
    }

    private func ensureRegistered() {
        if registered { return }
        registered = true
        #if arch(wasm32)
        proxy_wasm_swift_main()
        #endif
    }

    private func root(_ id: UInt32) -> RootContext? {
        if case let .root(root)? = contexts[id] { return root }
        return nil
    }

    // MARK: lifecycle

    public func onContextCreate(_ contextID: UInt32, _ parentID: UInt32) {
        ensureRegistered()
        if parentID == 0 {
            guard let factory = rootFactory else {
                Log.critical("no root context factory registered; the plugin passes traffic untouched")
                return
            }
            contexts.set(contextID, .root(factory(contextID)))
            return
        }
        guard let root = root(parentID) else { return }
        switch root.streamKind {
        case .http:
            if let context = root.createHttpContext(id: contextID) { contexts.set(contextID, .http(context)) }
        case .tcp:
            if let context = root.createTcpContext(id: contextID) { contexts.set(contextID, .tcp(context)) }
        case .automatic:
            contexts.set(contextID, .pending(rootID: parentID))
        }
    }

    /// The HTTP context for `id`, creating it now for an `.automatic` root.
    private func http(_ id: UInt32) -> HttpContext? {
        switch contexts[id] {
        case let .http(context)?: return context
        case let .pending(rootID)?:
            guard let root = root(rootID), let context = root.createHttpContext(id: id) else {
                contexts.remove(id)
                return nil
            }
            contexts.set(id, .http(context))
            return context
        default: return nil
        }
    }

    /// The TCP context for `id`, creating it now for an `.automatic` root.
    private func tcp(_ id: UInt32) -> TcpContext? {
        switch contexts[id] {
        case let .tcp(context)?: return context
        case let .pending(rootID)?:
            guard let root = root(rootID), let context = root.createTcpContext(id: id) else {
                contexts.remove(id)
                return nil
            }
            contexts.set(id, .tcp(context))
            return context
        default: return nil
        }
    }

    public func onVmStart(_ rootID: UInt32, _ size: UInt32) -> UInt32 {
        guard let root = root(rootID) else { return 1 }
        return root.onVmStart(vmConfigurationSize: Int(size)) ? 1 : 0
    }

    public func onConfigure(_ rootID: UInt32, _ size: UInt32) -> UInt32 {
        guard let root = root(rootID) else { return 1 }
        return root.onConfigure(pluginConfigurationSize: Int(size)) ? 1 : 0
    }

    public func onTick(_ rootID: UInt32) { root(rootID)?.onTick() }

    public func onQueueReady(_ rootID: UInt32, _ token: UInt32) { root(rootID)?.onQueueReady(token: token) }

    public func onDone(_ contextID: UInt32) -> UInt32 {
        switch contexts[contextID] {
        case let .root(root)?: return root.onDone() ? 1 : 0
        case let .http(context)?: return context.onDone() ? 1 : 0
        case let .tcp(context)?: return context.onDone() ? 1 : 0
        case .pending?:
            contexts.remove(contextID)
            return 1
        case nil: return 1
        }
    }

    public func onLog(_ contextID: UInt32) {
        switch contexts[contextID] {
        // An HTTP stream can reach the log phase without any other callback (early local reply).
        case .pending?: http(contextID)?.onLog()
        case let .http(context)?: context.onLog()
        case let .tcp(context)?: context.onLog()
        case let .root(root)?: root.onLog()
        case nil: break
        }
    }

    public func onDelete(_ contextID: UInt32) {
        callouts?.abandonAll(contextID)
        switch contexts.remove(contextID) {
        case let .http(context)?: context.onDelete()
        case let .tcp(context)?: context.onDelete()
        case let .root(root)?: root.onDelete()
        case .pending?, nil: break
        }
    }

    // MARK: HTTP

    public func onRequestHeaders(_ contextID: UInt32, _ count: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterHeadersStatus.continue.rawValue }
        return context.onRequestHeaders(headerCount: Int(count), endOfStream: endOfStream != 0).rawValue
    }

    public func onRequestBody(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterDataStatus.continue.rawValue }
        return context.onRequestBody(bodySize: Int(size), endOfStream: endOfStream != 0).rawValue
    }

    public func onRequestTrailers(_ contextID: UInt32, _ count: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterTrailersStatus.continue.rawValue }
        return context.onRequestTrailers(trailerCount: Int(count)).rawValue
    }

    public func onResponseHeaders(_ contextID: UInt32, _ count: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterHeadersStatus.continue.rawValue }
        return context.onResponseHeaders(headerCount: Int(count), endOfStream: endOfStream != 0).rawValue
    }

    public func onResponseBody(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterDataStatus.continue.rawValue }
        return context.onResponseBody(bodySize: Int(size), endOfStream: endOfStream != 0).rawValue
    }

    public func onResponseTrailers(_ contextID: UInt32, _ count: UInt32) -> UInt32 {
        guard let context = http(contextID) else { return FilterTrailersStatus.continue.rawValue }
        return context.onResponseTrailers(trailerCount: Int(count)).rawValue
    }

    /// A call-out made with `dispatchHttpCall` goes to its handler (on the
    /// context that made it, which is made effective again first); any other
    /// token to the root's `onHttpCallResponse`.
    public func onHttpCallResponse(_ rootID: UInt32, _ token: UInt32, _ headers: UInt32, _ body: UInt32, _ trailers: UInt32) {
        if let callouts, callouts.deliverHttp(token, Int(headers), Int(body), Int(trailers), self) { return }
        root(rootID)?.onHttpCallResponse(
            token: token, headerCount: Int(headers), bodySize: Int(body),
            trailerCount: Int(trailers))
    }

    // MARK: gRPC call-outs (made with `dispatchGrpcCall` or `openGrpcStream`)

    public func onGrpcReceiveInitialMetadata(_ contextID: UInt32, _ token: UInt32, _ count: UInt32) {
        callouts?.deliverGrpc(token, .initialMetadata(count: Int(count)), self)
    }

    /// A unary call's reply is its last callback; a stream's messages are not.
    public func onGrpcReceive(_ contextID: UInt32, _ token: UInt32, _ size: UInt32) {
        callouts?.deliverGrpc(token, .message(size: Int(size)), self)
    }

    public func onGrpcReceiveTrailingMetadata(_ contextID: UInt32, _ token: UInt32, _ count: UInt32) {
        callouts?.deliverGrpc(token, .trailingMetadata(count: Int(count)), self)
    }

    /// The last callback of a gRPC call or stream.
    public func onGrpcClose(_ contextID: UInt32, _ token: UInt32, _ status: UInt32) {
        callouts?.deliverGrpc(token, .close(code: status), self)
    }

    /// Answers arrive on the root context; a stream's handler acts on its stream.
    func makeEffective(_ contextID: UInt32) {
        if case .root? = contexts[contextID] { return }
        _ = proxy_set_effective_context(contextID)
    }

    public func onForeignFunction(_ rootID: UInt32, _ functionID: UInt32, _ size: UInt32) {
        root(rootID)?.onForeignFunction(functionID: functionID, argumentsSize: Int(size))
    }

    // MARK: TCP

    public func onNewConnection(_ contextID: UInt32) -> UInt32 {
        guard let context = tcp(contextID) else { return FilterStatus.continue.rawValue }
        return context.onNewConnection().rawValue
    }

    public func onDownstreamData(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = tcp(contextID) else { return FilterStatus.continue.rawValue }
        return context.onDownstreamData(dataSize: Int(size), endOfStream: endOfStream != 0).rawValue
    }

    public func onUpstreamData(_ contextID: UInt32, _ size: UInt32, _ endOfStream: UInt32) -> UInt32 {
        guard let context = tcp(contextID) else { return FilterStatus.continue.rawValue }
        return context.onUpstreamData(dataSize: Int(size), endOfStream: endOfStream != 0).rawValue
    }

    public func onDownstreamConnectionClose(_ contextID: UInt32, _ peer: UInt32) {
        tcp(contextID)?.onDownstreamConnectionClose(peer: PeerType(rawValue: peer) ?? .unknown)
    }

    public func onUpstreamConnectionClose(_ contextID: UInt32, _ peer: UInt32) {
        tcp(contextID)?.onUpstreamConnectionClose(peer: PeerType(rawValue: peer) ?? .unknown)
    }
}
