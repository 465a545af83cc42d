// Layer 3: context classes a plugin subclasses. Every callback has a default
// that lets traffic through, so a plugin overrides only what it needs.
//
// Embedded Swift has no `weak`: contexts refer to their root by id, and the
// dispatcher owns every context.

/// What kind of stream contexts a root context creates.
public enum StreamKind {
    /// HTTP filter contexts (`createHttpContext`).
    case http
    /// Network (TCP) filter contexts (`createTcpContext`).
    case tcp
    /// Decided by the first callback: HTTP callbacks create an HTTP context,
    /// `proxy_on_new_connection` a TCP one. Lets one module and configuration
    /// serve as both an HTTP and a network filter.
    case automatic
}

/// A plugin instance: one per plugin configuration per VM (Envoy's root context).
open class RootContext {
    /// The root context id the host assigned.
    public let id: UInt32

    public init(id: UInt32) { self.id = id }

    /// Which stream contexts this root creates. Envoy uses separate plugin
    /// configurations (so separate roots) for HTTP and network filters.
    open var streamKind: StreamKind { .http }

    /// Called once per root after the VM starts; `false` fails the VM start.
    open func onVmStart(vmConfigurationSize: Int) -> Bool { true }

    /// Called with the plugin configuration's size; read it with
    /// `pluginConfiguration()`. `false` rejects the configuration.
    open func onConfigure(pluginConfigurationSize: Int) -> Bool { true }

    /// Called every tick period (see `Clock.setTickPeriod`).
    open func onTick() {}

    /// Called when a shared queue registered by this root has data.
    open func onQueueReady(token: UInt32) {}

    /// Called for access-logger plugins at the end of each stream.
    open func onLog() {}

    /// Called at shutdown. Return `false` to finish later with `StreamControl.done()`.
    open func onDone() -> Bool { true }

    /// The last callback: release resources.
    open func onDelete() {}

    /// An HTTP call-out answered (or failed: all counts 0).
    open func onHttpCallResponse(token: UInt32, headerCount: Int, bodySize: Int, trailerCount: Int) {}

    /// The host invoked a foreign function on this root.
    open func onForeignFunction(functionID: UInt32, argumentsSize: Int) {}

    /// A new HTTP stream; return `nil` to let it pass untouched.
    open func createHttpContext(id: UInt32) -> HttpContext? { nil }

    /// A new TCP connection; return `nil` to let it pass untouched.
    open func createTcpContext(id: UInt32) -> TcpContext? { nil }

    /// The VM configuration bytes (available in every callback).
    public final func vmConfiguration() throws(HostError) -> [UInt8] {
        try Buffer.vmConfiguration.bytes()
    }

    /// The plugin configuration bytes (Envoy: only during `onConfigure`).
    public final func pluginConfiguration() throws(HostError) -> [UInt8] {
        try Buffer.pluginConfiguration.bytes()
    }
}

/// One HTTP stream (request and response) through an HTTP filter.
open class HttpContext {
    public let id: UInt32
    public let rootID: UInt32

    public init(id: UInt32, rootID: UInt32) {
        self.id = id
        self.rootID = rootID
    }

    open func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus { .continue }
    open func onRequestBody(bodySize: Int, endOfStream: Bool) -> FilterDataStatus { .continue }
    open func onRequestTrailers(trailerCount: Int) -> FilterTrailersStatus { .continue }
    open func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus { .continue }
    open func onResponseBody(bodySize: Int, endOfStream: Bool) -> FilterDataStatus { .continue }
    open func onResponseTrailers(trailerCount: Int) -> FilterTrailersStatus { .continue }

    /// The stream is complete (Envoy: access-log phase, headers read-only).
    open func onLog() {}
    /// The host is done with the stream (its return value is ignored for streams).
    open func onDone() -> Bool { true }
    /// The last callback for this stream.
    open func onDelete() {}
}

/// One TCP connection through a network filter.
open class TcpContext {
    public let id: UInt32
    public let rootID: UInt32

    public init(id: UInt32, rootID: UInt32) {
        self.id = id
        self.rootID = rootID
    }

    open func onNewConnection() -> FilterStatus { .continue }
    /// Bytes from the downstream peer; read them with `Buffer.downstreamData`.
    open func onDownstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus { .continue }
    /// Bytes from the upstream peer; read them with `Buffer.upstreamData`.
    open func onUpstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus { .continue }
    open func onDownstreamConnectionClose(peer: PeerType) {}
    open func onUpstreamConnectionClose(peer: PeerType) {}

    /// Envoy calls `onDone` before `onLog` for connections.
    open func onDone() -> Bool { true }
    open func onLog() {}
    open func onDelete() {}
}
