/// A VM's contexts as Envoy keeps them: one id sequence from 1 shared by roots
/// and streams in creation order, each root's plugin configuration, and the
/// roots parked because `proxy_on_done` returned false (until `proxy_done`).
struct ContextRegistry {
    /// The live contexts by id.
    private(set) var byID: [UInt32: ContextState] = [:]
    /// Each root's plugin, by root id (kept after the root is deleted, as its id is never reused).
    private var plugins: [UInt32: PluginConfiguration] = [:]
    private var nextID: UInt32 = 1
    private var parked: Set<UInt32> = []

    subscript(id: UInt32) -> ContextState? { byID[id] }

    /// A new root context for `plugin`, under the next id.
    mutating func addRoot(_ plugin: PluginConfiguration) -> ContextState {
        let id = takeID()
        let context = ContextState(id: id, rootID: id, kind: .root)
        byID[context.id] = context
        plugins[context.id] = plugin
        return context
    }

    /// A new stream (HTTP or TCP) context under `root`, under the next id.
    mutating func addStream(root: UInt32, kind: ContextState.Kind, stream: StreamState) -> ContextState {
        let context = ContextState(id: takeID(), rootID: root, kind: kind, stream: stream)
        byID[context.id] = context
        return context
    }

    mutating func remove(_ id: UInt32) { byID[id] = nil }

    /// The plugin configured on `root`.
    func plugin(ofRoot root: UInt32) -> PluginConfiguration? { plugins[root] }

    /// Parks a root whose `proxy_on_done` returned false.
    mutating func park(_ root: UInt32) { parked.insert(root) }

    /// Whether `root` is parked waiting for `proxy_done`.
    func isParked(_ root: UInt32) -> Bool { parked.contains(root) }

    /// Releases a parked root (`proxy_done`); false if it was not parked.
    mutating func release(_ root: UInt32) -> Bool { parked.remove(root) != nil }

    private mutating func takeID() -> UInt32 {
        defer { nextID += 1 }
        return nextID
    }
}
