// Istio's `FlatNode` FlatBuffer (extensions/common/node_info.fbs, namespace
// Wasm.Common), the format of the `wasm.upstream_peer` / `wasm.downstream_peer`
// filter state, so Istio's stats filter can read what we write and we can read
// what Istio's exchange filter writes.
//
//   table KeyVal { key: string (key); value: string; }
//   table FlatNode {
//     name: string;            // slot 0
//     namespace: string;       // 1
//     labels: [KeyVal];        // 2, sorted by key
//     owner: string;           // 3
//     workload_name: string;   // 4
//     platform_metadata: [KeyVal]; // 5, sorted by key
//     istio_version: string;   // 6
//     mesh_id: string;         // 7
//     app_containers: [string];// 8
//     cluster_id: string;      // 9
//     instance_ips: [string];  // 10 (Istio 1.17)
//   }
//
// Layout written here (a valid FlatBuffer; byte identity with the C++
// builder is not needed, readers follow offsets): root uoffset, the FlatNode
// vtable, a shared KeyVal vtable, the root table, then strings, vectors and
// KeyVal tables, every object 4-byte aligned and referenced by forward offsets.

public enum FlatNodeCodec {
    static let fieldCount = 11

    /// Why FlatNode bytes were rejected.
    public struct DecodingError: Error, Equatable {
        public let reason: String
    }

    // MARK: encoding

    struct Writer {
        var bytes: [UInt8] = []

        mutating func align() { while bytes.count % 4 != 0 { bytes.append(0) } }

        mutating func u16(_ value: Int) {
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }

        mutating func u32(_ value: Int) {
            for shift in [0, 8, 16, 24] { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }

        mutating func patch(_ position: Int, _ value: Int) {
            for (index, shift) in [0, 8, 16, 24].enumerated() {
                bytes[position + index] = UInt8(truncatingIfNeeded: value >> shift)
            }
        }

        /// Writes a string and points the uoffset slot at `slot` to it.
        mutating func string(_ text: String, for slot: Int) {
            align()
            patch(slot, bytes.count - slot)
            let utf8 = Array(text.utf8)
            u32(utf8.count)
            bytes.append(contentsOf: utf8)
            bytes.append(0)
        }
    }

    public static func encode(_ node: PeerNode) -> [UInt8] {
        var w = Writer()
        w.u32(0)  // root offset, patched below
        // Which slots are present, and their position in the table body.
        var present: [Int] = []
        let strings: [(Int, String?)] = [
            (0, node.name), (1, node.namespace), (3, node.owner), (4, node.workloadName),
            (6, node.istioVersion), (7, node.meshID), (9, node.clusterID),
        ]
        var isPresent = [Bool](repeating: false, count: fieldCount)
        for (slot, value) in strings where value != nil { isPresent[slot] = true }
        if node.labels != nil { isPresent[2] = true }
        if node.platformMetadata != nil { isPresent[5] = true }
        if node.appContainers != nil { isPresent[8] = true }
        if node.instanceIPs != nil { isPresent[10] = true }
        for slot in 0..<fieldCount where isPresent[slot] { present.append(slot) }
        // FlatNode vtable.
        let vtable = w.bytes.count
        w.u16(4 + 2 * fieldCount)
        w.u16(4 + 4 * present.count)
        for slot in 0..<fieldCount {
            if let index = present.firstIndex(of: slot) { w.u16(4 + 4 * index) } else { w.u16(0) }
        }
        w.align()
        // KeyVal vtable: 2 fields, table of 12 bytes.
        let keyValVTable = w.bytes.count
        w.u16(8)
        w.u16(12)
        w.u16(4)
        w.u16(8)
        // Root table.
        let table = w.bytes.count
        w.patch(0, table)
        w.u32(table - vtable)  // soffset: the vtable lies this many bytes before
        for _ in present { w.u32(0) }
        func slotPosition(_ slot: Int) -> Int { table + 4 + 4 * present.firstIndex(of: slot)! }
        for (slot, value) in strings {
            if let value { w.string(value, for: slotPosition(slot)) }
        }
        func keyValVector(_ pairs: [KeyValue], slot: Int) {
            let sorted = sortedByKey(pairs)
            w.align()
            w.patch(slotPosition(slot), w.bytes.count - slotPosition(slot))
            w.u32(sorted.count)
            let elements = w.bytes.count
            for _ in sorted { w.u32(0) }
            var tables: [Int] = []
            for (index, _) in sorted.enumerated() {
                let position = w.bytes.count
                w.patch(elements + 4 * index, position - (elements + 4 * index))
                w.u32(position - keyValVTable)
                w.u32(0)
                w.u32(0)
                tables.append(position)
            }
            for (index, pair) in sorted.enumerated() {
                w.string(pair.key, for: tables[index] + 4)
                w.string(pair.value, for: tables[index] + 8)
            }
        }
        func stringVector(_ items: [String], slot: Int) {
            w.align()
            w.patch(slotPosition(slot), w.bytes.count - slotPosition(slot))
            w.u32(items.count)
            let elements = w.bytes.count
            for _ in items { w.u32(0) }
            for (index, item) in items.enumerated() { w.string(item, for: elements + 4 * index) }
        }
        if let labels = node.labels { keyValVector(labels, slot: 2) }
        if let platform = node.platformMetadata { keyValVector(platform, slot: 5) }
        if let containers = node.appContainers { stringVector(containers, slot: 8) }
        if let ips = node.instanceIPs { stringVector(ips, slot: 10) }
        w.align()
        return w.bytes
    }

    // MARK: decoding

    /// Reads FlatNode bytes from a peer. Every offset is a u32 or i32 on the
    /// wire: it is range-checked as that width before it meets an `Int`
    /// (32 bits on wasm32), so no value a peer sends can overflow or trap.
    struct Reader {
        let bytes: [UInt8]

        func u16(_ position: Int) throws(DecodingError) -> Int {
            guard position >= 0, position <= bytes.count - 2 else { throw DecodingError(reason: "offset \(position) out of bounds") }
            return Int(bytes[position]) | Int(bytes[position + 1]) << 8
        }

        func rawU32(_ position: Int) throws(DecodingError) -> UInt32 {
            guard position >= 0, position <= bytes.count - 4 else { throw DecodingError(reason: "offset \(position) out of bounds") }
            return UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16
                | UInt32(bytes[position + 3]) << 24
        }

        /// A u32 that counts or offsets something inside the buffer: at most its size.
        func u32(_ position: Int) throws(DecodingError) -> Int {
            let value = try rawU32(position)
            guard UInt64(value) <= UInt64(bytes.count) else { throw DecodingError(reason: "value at \(position) exceeds the buffer") }
            return Int(value)
        }

        /// Position of field `slot`'s value in the table at `table`, or nil.
        func field(_ table: Int, _ slot: Int) throws(DecodingError) -> Int? {
            // soffset: the vtable lies `value` bytes before the table (after, if negative).
            let relative = Int64(Int32(bitPattern: try rawU32(table)))
            let vtable64 = Int64(table) - relative
            guard vtable64 >= 0, vtable64 < Int64(bytes.count) else {
                throw DecodingError(reason: "vtable of the table at \(table) is outside the buffer")
            }
            let vtable = Int(vtable64)
            let vtableSize = try u16(vtable)
            let entry = 4 + 2 * slot
            if entry + 2 > vtableSize { return nil }
            let offset = try u16(vtable + entry)
            guard offset < bytes.count - table else { throw DecodingError(reason: "field \(slot) of the table at \(table) is outside the buffer") }
            return offset == 0 ? nil : table + offset
        }

        func follow(_ position: Int) throws(DecodingError) -> Int {
            let distance = try u32(position)
            guard distance < bytes.count - position else { throw DecodingError(reason: "offset at \(position) points outside the buffer") }
            return position + distance
        }

        func string(at position: Int) throws(DecodingError) -> String {
            let start = try follow(position)
            let length = try u32(start)
            guard length <= bytes.count - start - 4 else { throw DecodingError(reason: "string at \(start) overruns the buffer") }
            return String(decoding: bytes[(start + 4)..<(start + 4 + length)], as: UTF8.self)
        }

        func vector(at position: Int) throws(DecodingError) -> (count: Int, elements: Int) {
            let start = try follow(position)
            let count = try u32(start)
            guard count <= (bytes.count - start - 4) / 4 else { throw DecodingError(reason: "vector at \(start) overruns the buffer") }
            return (count, start + 4)
        }

        func optionalString(_ table: Int, _ slot: Int) throws(DecodingError) -> String? {
            guard let position = try field(table, slot) else { return nil }
            return try string(at: position)
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> PeerNode {
        let r = Reader(bytes: bytes)
        let table = try r.follow(0)
        var node = PeerNode()
        node.name = try r.optionalString(table, 0)
        node.namespace = try r.optionalString(table, 1)
        node.owner = try r.optionalString(table, 3)
        node.workloadName = try r.optionalString(table, 4)
        node.istioVersion = try r.optionalString(table, 6)
        node.meshID = try r.optionalString(table, 7)
        node.clusterID = try r.optionalString(table, 9)
        func keyVals(_ slot: Int) throws(DecodingError) -> [KeyValue]? {
            guard let position = try r.field(table, slot) else { return nil }
            let (count, elements) = try r.vector(at: position)
            var pairs: [KeyValue] = []
            for index in 0..<count {
                let entry = try r.follow(elements + 4 * index)
                guard let key = try r.field(entry, 0) else { throw DecodingError(reason: "KeyVal without a key") }
                let value = try r.field(entry, 1)
                pairs.append(KeyValue(try r.string(at: key), try value.map { (p) throws(DecodingError) -> String in try r.string(at: p) } ?? ""))
            }
            return pairs
        }
        func strings(_ slot: Int) throws(DecodingError) -> [String]? {
            guard let position = try r.field(table, slot) else { return nil }
            let (count, elements) = try r.vector(at: position)
            var items: [String] = []
            for index in 0..<count { items.append(try r.string(at: elements + 4 * index)) }
            return items
        }
        node.labels = try keyVals(2)
        node.platformMetadata = try keyVals(5)
        node.appContainers = try strings(8)
        node.instanceIPs = try strings(10)
        return node
    }
}
