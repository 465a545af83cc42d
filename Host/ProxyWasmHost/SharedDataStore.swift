import ProxyWasmABI

/// Shared data and shared queues, partitioned by vm_id as in Envoy.
public final class SharedDataStore {
    struct Entry {
        var value: [UInt8]
        var cas: UInt32
    }

    private var data: [String: [String: Entry]] = [:]
    private var nextCAS: UInt32 = 1

    struct Queue {
        let vmID: String
        let name: String
        var items: [[UInt8]] = []
        var ownerRoot: UInt32
        weak var ownerVM: PluginVM?
    }

    var queues: [UInt32: Queue] = [:]
    private var nextQueueToken: UInt32 = 1

    public init() {}

    func get(vmID: String, key: String) -> Entry? { data[vmID]?[key] }

    func set(vmID: String, key: String, value: [UInt8], cas: UInt32) -> WasmResult {
        if let existing = data[vmID]?[key], cas != 0, cas != existing.cas { return .casMismatch }
        data[vmID, default: [:]][key] = Entry(value: value, cas: nextCAS)
        nextCAS = nextCAS == UInt32.max ? 1 : nextCAS + 1
        return .ok
    }

    func registerQueue(vmID: String, name: String, root: UInt32, vm: PluginVM) -> UInt32 {
        if let token = queues.first(where: { $0.value.vmID == vmID && $0.value.name == name })?.key {
            queues[token]?.ownerRoot = root
            queues[token]?.ownerVM = vm
            return token
        }
        let token = nextQueueToken
        nextQueueToken += 1
        queues[token] = Queue(vmID: vmID, name: name, ownerRoot: root, ownerVM: vm)
        return token
    }

    func resolveQueue(vmID: String, name: String) -> UInt32? {
        queues.first(where: { $0.value.vmID == vmID && $0.value.name == name })?.key
    }
}
