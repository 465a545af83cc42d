import ProxyWasmABI

/// One emulated Envoy proxy (a sidecar): its node and listener properties, its
/// stats store, shared data and queues, log and clock. Several plugin VMs can
/// run on one proxy, as in Envoy, and share its stats and shared data.
public final class Proxy {
    public let name: String
    public var dialect: PropertyDialect
    /// Proxy-level properties: `xds.node`, `xds.listener_direction`, ...
    /// (always stored under `xds`; the dialect decides the names the guest sees).
    public var properties: PropertyNode
    public let stats = StatsStore()
    public let sharedData = SharedDataStore()
    public let clock: VirtualClock
    /// Envoy's `wasm` logger level (`proxy_get_log_level`, and the filter for the log).
    public var logLevel: LogLevel = .info
    public private(set) var logs: [LogLine] = []
    /// Every VM started on this proxy (timers and queues reach them through here).
    public internal(set) var vms: [PluginVM] = []
    /// Clusters HTTP and gRPC call-outs can reach, with their responders.
    public let upstreams = CalloutUpstreams()
    /// Call-out answers waiting for their virtual time.
    var pendingCallouts: [PendingCallout] = []
    var calloutSequence: UInt64 = 0
    /// Envoy numbers connections from 0 in the order they open.
    private var connectionCount: UInt64 = 0
    var deliveringCallouts = false

    public init(
        name: String, dialect: PropertyDialect = .current, properties: PropertyNode = .map([]),
        clock: VirtualClock = VirtualClock()
    ) {
        self.name = name
        self.dialect = dialect
        self.properties = properties
        self.clock = clock
    }

    /// Envoy's node as properties: `xds.node.id`, `.cluster`, `.metadata`.
    public func setNode(id: String, cluster: String = "", metadata: [PropertyEntry]) {
        let node = PropertyNode.message(
            serialized: [],
            fields: [
                PropertyEntry("id", .string(id)), PropertyEntry("cluster", .string(cluster)),
                PropertyEntry("metadata", .map(metadata)),
            ])
        setXDS("node", node)
    }

    /// Sets `xds.<key>` (and so the bare `<key>` in the legacy dialect).
    public func setXDS(_ key: String, _ value: PropertyNode) {
        properties = properties.merged(with: .map([PropertyEntry("xds", .map([PropertyEntry(key, value)]))]))
    }

    func appendLog(_ line: LogLine) {
        logs.append(line)
    }

    public func clearLogs() { logs.removeAll() }

    /// Advances the virtual clock, firing every due `proxy_on_tick` and
    /// delivering every due call-out answer, in time order (answers first
    /// when both fall on the same instant).
    public func advanceClock(byMilliseconds milliseconds: UInt64) {
        let target = clock.nanoseconds + milliseconds * 1_000_000
        deliverDueCallouts()
        while true {
            var next: (vm: PluginVM, root: UInt32, due: UInt64)?
            for vm in vms {
                if let tick = vm.ticks.earliest(dueBy: target), next == nil || tick.due < next!.due { next = (vm, tick.root, tick.due) }
            }
            if let index = nextCallout(dueBy: target), next == nil || pendingCallouts[index].due <= next!.due {
                let pending = pendingCallouts.remove(at: index)
                clock.nanoseconds = max(clock.nanoseconds, pending.due)
                pending.vm.deliver(pending)
                continue
            }
            guard let tick = next else { break }
            clock.nanoseconds = max(clock.nanoseconds, tick.due)
            tick.vm.fireTick(root: tick.root)
        }
        clock.nanoseconds = target
    }
}

extension Proxy {
    /// The id of `stream`'s downstream connection, given on first use.
    func connectionID(of stream: StreamState) -> UInt64 {
        if let id = stream.connectionID { return id }
        let id = connectionCount
        connectionCount += 1
        stream.connectionID = id
        return id
    }
}
