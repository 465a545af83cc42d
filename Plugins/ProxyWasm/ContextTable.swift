// The dispatcher's registry of contexts by id. Every callback looks its
// context up here, several times per request, so it is a flat open-addressing
// table (linear probing, Fibonacci hashing of the host's ids) instead of a
// Dictionary, whose seeded SipHash cost more than the rest of a short
// callback. Context ids come from the host, not from peers.

/// What a context id stands for.
enum ContextEntry {
    case root(RootContext)
    case http(HttpContext)
    case tcp(TcpContext)
    /// A context of an `.automatic` root, created on its first HTTP or TCP callback.
    case pending(rootID: UInt32)
}

struct ContextTable {
    private static let empty: UInt8 = 0, full: UInt8 = 1, deleted: UInt8 = 2
    private var keys: [UInt32]
    private var entries: [ContextEntry?]
    private var states: [UInt8]
    /// Live entries.
    private(set) var count = 0
    /// Live plus deleted slots: probing stops only at an empty one.
    private var occupied = 0
    private var shift: UInt32

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity { size <<= 1 }
        keys = [UInt32](repeating: 0, count: size)
        entries = [ContextEntry?](repeating: nil, count: size)
        states = [UInt8](repeating: Self.empty, count: size)
        shift = 32 - UInt32(size.trailingZeroBitCount)
    }

    @inline(__always)
    private func home(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> shift) }

    /// The slot holding `key`, if any.
    private func slot(of key: UInt32) -> Int? {
        let mask = keys.count - 1
        var index = home(key)
        while true {
            let state = states[index]
            if state == Self.empty { return nil }
            if state == Self.full && keys[index] == key { return index }
            index = (index + 1) & mask
        }
    }

    subscript(key: UInt32) -> ContextEntry? {
        guard let index = slot(of: key) else { return nil }
        return entries[index]
    }

    mutating func set(_ key: UInt32, _ entry: ContextEntry) {
        if let index = slot(of: key) {
            entries[index] = entry
            return
        }
        if (occupied + 1) * 2 > keys.count { rehash() }
        let mask = keys.count - 1
        var index = home(key)
        while states[index] == Self.full { index = (index + 1) & mask }
        if states[index] == Self.empty { occupied += 1 }
        keys[index] = key
        entries[index] = entry
        states[index] = Self.full
        count += 1
    }

    @discardableResult
    mutating func remove(_ key: UInt32) -> ContextEntry? {
        guard let index = slot(of: key) else { return nil }
        let entry = entries[index]
        entries[index] = nil
        states[index] = Self.deleted
        count -= 1
        return entry
    }

    /// Every live entry (leak tests; order unspecified).
    var values: [ContextEntry] {
        var result: [ContextEntry] = []
        for index in states.indices where states[index] == Self.full {
            if let entry = entries[index] { result.append(entry) }
        }
        return result
    }

    /// Grows (or just clears tombstones) so the table stays at most half occupied.
    private mutating func rehash() {
        var grown = ContextTable(capacity: max(16, (count + 1) * 4))
        for index in states.indices where states[index] == Self.full {
            if let entry = entries[index] { grown.set(keys[index], entry) }
        }
        self = grown
    }
}
