/// Peers seen so far, by peer id -> FlatNode bytes: the first metadata seen
/// for an id wins, as in Istio. Bounded: when full, the oldest quarter is
/// evicted. Empty ids are never cached (two unknown peers would collide).
public final class PeerCache {
    public let capacity: Int
    private var entries: [String: [UInt8]] = [:]
    private var order: [String] = []

    public init(capacity: Int) { self.capacity = capacity }

    public var count: Int { entries.count }

    public func lookup(_ id: String) -> [UInt8]? {
        if capacity == 0 || id.isEmpty { return nil }
        return entries[id]
    }

    public func insert(_ id: String, _ node: [UInt8]) {
        if capacity == 0 || id.isEmpty || entries[id] != nil { return }
        if entries.count >= capacity {
            let evicted = max(1, capacity / 4)
            for key in order.prefix(evicted) { entries[key] = nil }
            order.removeFirst(min(evicted, order.count))
        }
        entries[id] = node
        order.append(id)
    }
}
