import TelemetryCore

/// Decoded peers (FlatNode bytes) by peer id, each with the exact metadata
/// bytes it was decoded from. A cached node is used only for a request that
/// carries those same bytes; different bytes are decoded and replace the
/// entry. So metadata forged under someone else's id is never served to
/// that peer's own requests (Istio's cache lets the first metadata seen for
/// an id win). Bounded twice: at most `capacity` entries and at most
/// `byteBudget` bytes of metadata and nodes; when either would be passed, the
/// oldest quarter of the entries is evicted. Empty ids are never cached.
public final class PeerCache {
    /// A class, not a struct: in a module with the stats plugin, the cache then
    /// shares the Dictionary code of stats' byte-keyed caches of objects.
    final class Entry {
        let metadata: [UInt8]
        let node: [UInt8]
        /// The peer's id when the key is not the id itself (TCP: the key is the whole prefix payload).
        let peerID: [UInt8]
        var size: Int { metadata.count + node.count + peerID.count }

        init(metadata: [UInt8], node: [UInt8], peerID: [UInt8]) {
            self.metadata = metadata
            self.node = node
            self.peerID = peerID
        }
    }

    public let capacity: Int
    public let byteBudget: Int
    private var entries: [BytesKey: Entry] = [:]
    private var order: [BytesKey] = []
    /// Bytes held: metadata plus FlatNode of every entry.
    public private(set) var heldBytes = 0

    /// The default byte budget: 500 typical peers take ~1 MB.
    public static let defaultByteBudget = 4 << 20

    public init(capacity: Int, byteBudget: Int = PeerCache.defaultByteBudget) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    public var count: Int { entries.count }

    /// The node decoded from `metadata` for `id`, if these exact bytes were seen for it.
    public func lookup(id: [UInt8], metadata: [UInt8]) -> [UInt8]? { lookupPeer(id: id, metadata: metadata)?.node }

    /// The cached node and the peer id stored with it.
    public func lookupPeer(id: [UInt8], metadata: [UInt8]) -> (node: [UInt8], peerID: [UInt8])? {
        if capacity == 0 || id.isEmpty { return nil }
        guard let entry = entries[BytesKey(id)], sameBytes(entry.metadata, metadata) else { return nil }
        return (entry.node, entry.peerID)
    }

    public func insert(id idBytes: [UInt8], metadata: [UInt8], node: [UInt8], peerID: [UInt8] = []) {
        let entry = Entry(metadata: metadata, node: node, peerID: peerID)
        if capacity == 0 || idBytes.isEmpty || entry.size > byteBudget { return }
        let id = BytesKey(idBytes)
        if let old = entries[id] {
            heldBytes -= old.size
            entries[id] = nil
            order.removeAll { $0 == id }
        }
        while !order.isEmpty && (entries.count >= capacity || heldBytes + entry.size > byteBudget) { evictOldestQuarter() }
        entries[id] = entry
        order.append(id)
        heldBytes += entry.size
    }

    private func evictOldestQuarter() {
        let evicted = max(1, order.count / 4)
        for id in order.prefix(evicted) {
            if let entry = entries.removeValue(forKey: id) { heldBytes -= entry.size }
        }
        order.removeFirst(evicted)
    }
}
