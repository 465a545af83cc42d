import ProxyWasmABI

/// Drives one TCP connection through a network filter in Envoy's order:
/// new connection -> downstream/upstream data (with end of stream) ->
/// close callbacks -> done -> log -> delete. Collects the bytes the filter
/// forwarded in each direction; bytes held by a StopIteration stay buffered
/// and are offered again, grown, with the next data callback, as in Envoy.
public final class TcpConnection {
    public let vm: PluginVM
    public let root: UInt32
    public private(set) var context: ContextState?
    /// Bytes the filter let through towards the upstream / the downstream.
    public private(set) var forwardedUpstream: [UInt8] = []
    public private(set) var forwardedDownstream: [UInt8] = []
    /// The VM failed and the connection was closed (fail-closed).
    public private(set) var closedByFailure = false
    public private(set) var bypassed = false
    public var properties: [PropertyEntry]
    /// Filter state shared with the other plugins on this connection.
    public let streamState: StreamState
    private var pendingDownstream: [UInt8] = []
    private var pendingUpstream: [UInt8] = []
    private var closed = false
    private var upstreamConnected = false

    public init(vm: PluginVM, root: UInt32, properties: [PropertyEntry] = [], streamState: StreamState = StreamState()) {
        self.vm = vm
        self.root = root
        self.properties = properties
        self.streamState = streamState
    }

    public var id: UInt32? { context?.id }

    /// `proxy_on_context_create` + `proxy_on_new_connection`.
    @discardableResult
    public func open() -> FilterStatus {
        guard context == nil, !bypassed, !closedByFailure else { return .continue }
        if vm.isFailed || !vm.isLiveRoot(root) {
            fail()
            return .stopIteration
        }
        let created = vm.createStreamContext(root: root, kind: .tcp, stream: streamState)
        context = created
        properties = ConnectionAttributes.apply(
            ConnectionAttributes.downstream(id: vm.proxy.connectionID(of: streamState)),
            under: properties)
        created.streamProperties = .map(properties)
        let raw = vm.invoke(
            "proxy_on_new_connection", context: created.id, [created.id],
            describe: { $0.flatMap { FilterStatus(rawValue: $0 == 0 ? 0 : 1)?.name } })
        if vm.isFailed {
            fail()
            return .stopIteration
        }
        vm.runDeferredActions()
        return raw == 0 || raw == nil ? .continue : .stopIteration
    }

    private func fail() {
        if vm.bypassesAfterFailure(root: root, context: context?.id) { bypassed = true } else { closedByFailure = true }
    }

    /// Bytes from the downstream peer.
    @discardableResult
    public func downstreamData(_ bytes: [UInt8], endOfStream: Bool = false) -> FilterStatus {
        data(
            bytes, endOfStream: endOfStream, type: .downstreamData, callback: "proxy_on_downstream_data",
            pending: &pendingDownstream, forwarded: &forwardedUpstream)
    }

    /// Bytes from the upstream peer. With end of stream, Envoy also reports
    /// `proxy_on_upstream_connection_close(Unknown)`.
    @discardableResult
    public func upstreamData(_ bytes: [UInt8], endOfStream: Bool = false) -> FilterStatus {
        let status = data(
            bytes, endOfStream: endOfStream, type: .upstreamData, callback: "proxy_on_upstream_data",
            pending: &pendingUpstream, forwarded: &forwardedDownstream)
        if endOfStream, let context, !vm.isFailed {
            vm.invoke(
                "proxy_on_upstream_connection_close", context: context.id, [context.id, PeerType.unknown.rawValue],
                traceArgs: ["peer": PeerType.unknown.name])
        }
        return status
    }

    private func data(
        _ bytes: [UInt8], endOfStream: Bool, type: BufferType, callback: String,
        pending: inout [UInt8], forwarded: inout [UInt8]
    ) -> FilterStatus {
        if context == nil && !bypassed && !closedByFailure { open() }
        if bypassed {
            forwarded += bytes
            return .continue
        }
        guard let context, !closedByFailure else { return .stopIteration }
        if type == .upstreamData && !upstreamConnected {
            // Bytes from upstream: the upstream connection exists.
            upstreamConnected = true
            properties = ConnectionAttributes.apply(
                ConnectionAttributes.upstream(id: vm.proxy.connectionID(of: streamState)),
                under: properties)
        }
        pending += bytes
        context.buffers[type] = pending
        context.mutableBuffers.insert(type)
        context.streamProperties = .map(properties)
        let raw = vm.invoke(
            callback, context: context.id, [context.id, UInt32(pending.count), endOfStream ? 1 : 0],
            traceArgs: [
                "data": PluginVM.display(bytes), "buffered": String(pending.count),
                "end_of_stream": String(endOfStream),
            ],
            describe: { $0.map { $0 == 0 ? "Continue" : "StopIteration" } })
        if vm.isFailed {
            fail()
            context.buffers[type] = nil
            return .stopIteration
        }
        let current = context.buffers[type] ?? pending
        context.buffers[type] = nil
        context.mutableBuffers.remove(type)
        vm.runDeferredActions()
        if raw == nil || raw == 0 {
            forwarded += current
            pending = []
            return .continue
        }
        pending = current
        return .stopIteration
    }

    /// The downstream closed (Remote) or the proxy closed it (Local): close
    /// callback, then `proxy_on_done`, `proxy_on_log`, `proxy_on_delete`.
    public func close(peer: PeerType = .remote) {
        guard !closed else { return }
        closed = true
        guard let context, !vm.isFailed else { return }
        fillCloseProperties(context)
        vm.invoke(
            "proxy_on_downstream_connection_close", context: context.id, [context.id, peer.rawValue],
            traceArgs: ["peer": peer.name])
        vm.invoke("proxy_on_done", context: context.id, [context.id], describe: { $0.map { $0 != 0 ? "true" : "false" } })
        vm.invoke("proxy_on_log", context: context.id, [context.id])
        vm.deleteContext(context.id)
        vm.runDeferredActions()
    }

    /// What Envoy 1.40 has for a connection when it closes, unless the
    /// scenario set it: `response.flags` (0: no flag), `request.total_size`
    /// (bytes from downstream) and `response.total_size` (bytes sent to it);
    /// no `response.code` or `request.duration` (`test_default_attributes.py`).
    private func fillCloseProperties(_ context: ContextState) {
        let totals: [PropertyEntry] = [
            PropertyEntry("request", .map([PropertyEntry("total_size", .int(Int64(forwardedUpstream.count)))])),
            PropertyEntry(
                "response",
                .map([
                    PropertyEntry("flags", .int(0)),
                    PropertyEntry("total_size", .int(Int64(forwardedDownstream.count))),
                ])),
        ]
        properties = ConnectionAttributes.apply(totals, under: properties)
        context.streamProperties = .map(properties)
    }
}
