/// Reads a field path out of a FlatBuffer by its binary schema (`.bfbs`,
/// FlatBuffers' `reflection.Schema`), the way Envoy's CEL reads a filter-state
/// value declared as FlatBuffers (`declare_property`): a table's fields by
/// name, a vector of tables with a `key` field by key. Leaves are strings,
/// booleans and integers; anything else (a whole table, a vector, floats,
/// unions) is not a value here. Every offset is bounds-checked: the buffer is
/// whatever a module stored.
public struct FlatBuffersReflection {
    /// `reflection.BaseType` values this reader handles.
    enum BaseType: UInt8 {
        case bool = 2
        case byte = 3
        case ubyte = 4
        case short = 5
        case ushort = 6
        case int = 7
        case uint = 8
        case long = 9
        case ulong = 10
        case string = 13
        case vector = 14
        case object = 15
    }

    struct Field {
        let name: [UInt8]
        let type: UInt8
        let element: UInt8
        let index: Int32
        let vtableOffset: UInt16
        let isKey: Bool
    }

    struct Object {
        let name: [UInt8]
        let fields: [Field]
    }

    let objects: [Object]
    let rootIndex: Int

    /// Parses a binary schema; nil if it is not one this reader understands.
    public init?(schema: [UInt8]) {
        let reader = Reader(bytes: schema)
        guard let root = reader.root(), let objectsVector = reader.vector(root, field: 0) else { return nil }
        var objects: [Object] = []
        for objectPosition in reader.tables(objectsVector) {
            guard let name = reader.string(objectPosition, field: 0), let fieldsVector = reader.vector(objectPosition, field: 1) else { return nil }
            var fields: [Field] = []
            for fieldPosition in reader.tables(fieldsVector) {
                guard let fieldName = reader.string(fieldPosition, field: 0), let type = reader.table(fieldPosition, field: 1) else { return nil }
                fields.append(
                    Field(
                        name: fieldName, type: reader.scalar(type, field: 0, UInt8.self) ?? 0,
                        element: reader.scalar(type, field: 1, UInt8.self) ?? 0,
                        index: reader.scalar(type, field: 2, Int32.self) ?? -1,
                        vtableOffset: reader.scalar(fieldPosition, field: 3, UInt16.self) ?? 0,
                        isKey: (reader.scalar(fieldPosition, field: 8, UInt8.self) ?? 0) != 0))
            }
            objects.append(Object(name: name, fields: fields))
        }
        guard let rootTable = reader.table(root, field: 4), let rootName = reader.string(rootTable, field: 0),
            let index = objects.firstIndex(where: { $0.name == rootName })
        else { return nil }
        self.objects = objects
        rootIndex = index
    }

    /// The value at `path` in `buffer` (a FlatBuffer whose root is the schema's root table).
    public func value(in buffer: [UInt8], path: [String]) -> PropertyNode? {
        let reader = Reader(bytes: buffer)
        guard var table = reader.root() else { return nil }
        var object = objects[rootIndex]
        var segments = path[...]
        while let segment = segments.popFirst() {
            guard let field = object.fields.first(where: { $0.name == Array(segment.utf8) }) else { return nil }
            let slot = Int(field.vtableOffset) / 2 - 2  // Reader fields are vtable slots
            guard let kind = BaseType(rawValue: field.type) else { return nil }
            switch kind {
            case .string:
                guard segments.isEmpty, let text = reader.string(table, field: slot) else { return nil }
                return .string(String(decoding: text, as: UTF8.self))
            case .bool:
                guard segments.isEmpty else { return nil }
                return .bool((reader.scalar(table, field: slot, UInt8.self) ?? 0) != 0)
            case .byte, .ubyte, .short, .ushort, .int, .uint, .long, .ulong:
                guard segments.isEmpty, let number = reader.integer(table, field: slot, kind) else { return nil }
                return .int(number)
            case .object:
                guard field.index >= 0, Int(field.index) < objects.count, let next = reader.table(table, field: slot) else { return nil }
                table = next
                object = objects[Int(field.index)]
            case .vector:
                // A vector of tables with a key field, indexed by key.
                guard field.element == BaseType.object.rawValue, field.index >= 0, Int(field.index) < objects.count,
                    let key = segments.popFirst(), let vector = reader.vector(table, field: slot)
                else { return nil }
                let element = objects[Int(field.index)]
                guard let keyField = element.fields.first(where: { $0.isKey && $0.type == BaseType.string.rawValue }) else { return nil }
                let keySlot = Int(keyField.vtableOffset) / 2 - 2
                guard let match = reader.tables(vector).first(where: { reader.string($0, field: keySlot) == Array(key.utf8) }) else {
                    return nil
                }
                table = match
                object = element
            }
        }
        return nil
    }

    /// The name of the schema's root table (`Wasm.Common.FlatNode`).
    public var rootName: String { String(decoding: objects[rootIndex].name, as: UTF8.self) }

    /// The most nested tables and the most values `document(in:)` reads: a
    /// buffer is whatever a module stored, and its offsets may point back at
    /// a table already read.
    static let documentDepthLimit = 8
    static let documentValueLimit = 4096

    /// The whole buffer for reading (traces): the root table as a map of its
    /// present fields in schema order; nested tables as maps; a vector of
    /// tables keyed by a string with one other field (FlatNode's labels) as a
    /// map from key to that field, other vectors of tables or strings as
    /// lists, vectors of bytes as bytes. Fields this reader has no value for
    /// (floats, unions, other vectors) are left out; nil when the root is unreadable.
    public func document(in buffer: [UInt8]) -> PropertyNode? {
        let reader = Reader(bytes: buffer)
        guard let root = reader.root(), reader.read(root, Int32.self) != nil else { return nil }
        var budget = Self.documentValueLimit
        return .map(entries(reader, table: root, object: objects[rootIndex], depth: 0, budget: &budget))
    }

    private func entries(_ reader: Reader, table: Int, object: Object, depth: Int, budget: inout Int) -> [PropertyEntry] {
        var result: [PropertyEntry] = []
        for field in object.fields {
            guard budget > 0 else { break }
            let slot = Int(field.vtableOffset) / 2 - 2
            guard reader.fieldPosition(table, slot) != nil, let value = fieldValue(reader, table, slot, field, depth, &budget) else { continue }
            budget -= 1
            result.append(PropertyEntry(String(decoding: field.name, as: UTF8.self), value))
        }
        return result
    }

    private func fieldValue(_ reader: Reader, _ table: Int, _ slot: Int, _ field: Field, _ depth: Int, _ budget: inout Int) -> PropertyNode? {
        guard let kind = BaseType(rawValue: field.type) else { return nil }
        switch kind {
        case .string: return reader.string(table, field: slot).map { .string(String(decoding: $0, as: UTF8.self)) }
        case .bool: return .bool((reader.scalar(table, field: slot, UInt8.self) ?? 0) != 0)
        case .byte, .ubyte, .short, .ushort, .int, .uint, .long, .ulong: return reader.integer(table, field: slot, kind).map { .int($0) }
        case .object:
            guard depth < Self.documentDepthLimit, field.index >= 0, Int(field.index) < objects.count,
                let nested = reader.table(table, field: slot)
            else { return nil }
            return .map(entries(reader, table: nested, object: objects[Int(field.index)], depth: depth + 1, budget: &budget))
        case .vector:
            guard let vector = reader.vector(table, field: slot) else { return nil }
            switch BaseType(rawValue: field.element) {
            case .string?:
                return .list(reader.strings(vector).prefix(max(budget, 0)).map { .string(String(decoding: $0, as: UTF8.self)) })
            case .ubyte?, .byte?:
                return reader.byteVector(vector).map { .bytes($0) }
            case .object?:
                guard depth < Self.documentDepthLimit, field.index >= 0, Int(field.index) < objects.count else { return nil }
                let element = objects[Int(field.index)]
                let tables = reader.tables(vector)
                let rows = tables.prefix(max(budget, 0)).map { entries(reader, table: $0, object: element, depth: depth + 1, budget: &budget) }
                let keyName = element.fields.first(where: { $0.isKey && $0.type == BaseType.string.rawValue }).map {
                    String(decoding: $0.name, as: UTF8.self)
                }
                if let keyName, element.fields.count == 2,
                    rows.allSatisfy({ $0.count == 2 && $0.contains(where: { $0.key == keyName }) })
                {
                    return .map(
                        rows.map { row in
                            let value = row.first(where: { $0.key != keyName })!.value
                            guard case let .string(key)? = row.first(where: { $0.key == keyName })?.value else {
                                return PropertyEntry("", value)
                            }
                            return PropertyEntry(key, value)
                        })
                }
                return .list(rows.map { .map($0) })
            default:
                return nil
            }
        }
    }

    /// Bounds-checked FlatBuffers access: positions are byte offsets into `bytes`.
    struct Reader {
        let bytes: [UInt8]

        func read<T: FixedWidthInteger>(_ position: Int, _: T.Type) -> T? {
            let size = MemoryLayout<T>.size
            guard position >= 0, position <= bytes.count - size else { return nil }
            var value: T = 0
            for index in 0..<size { value |= T(truncatingIfNeeded: bytes[position + index]) << (8 * index) }
            return value
        }

        /// The root table (after the root offset).
        func root() -> Int? { read(0, UInt32.self).map { Int($0) }.flatMap { $0 < bytes.count ? $0 : nil } }

        /// The position of field `slot` (0-based) of the table at `table`, nil if absent.
        func fieldPosition(_ table: Int, _ slot: Int) -> Int? {
            guard let back = read(table, Int32.self) else { return nil }
            let vtable = table - Int(back)
            guard let vtableSize = read(vtable, UInt16.self) else { return nil }
            let entry = 4 + 2 * slot
            guard slot >= 0, entry + 2 <= Int(vtableSize), let offset = read(vtable + entry, UInt16.self), offset != 0 else { return nil }
            return table + Int(offset)
        }

        /// Follows the offset stored at a field (strings, vectors, tables).
        func indirect(_ table: Int, _ slot: Int) -> Int? {
            guard let position = fieldPosition(table, slot), let offset = read(position, UInt32.self) else { return nil }
            let target = position + Int(offset)
            return target < bytes.count ? target : nil
        }

        func table(_ table: Int, field slot: Int) -> Int? { indirect(table, slot) }

        func vector(_ table: Int, field slot: Int) -> Int? { indirect(table, slot) }

        func string(_ table: Int, field slot: Int) -> [UInt8]? {
            guard let start = indirect(table, slot), let length = read(start, UInt32.self) else { return nil }
            guard Int(length) <= bytes.count - start - 4 else { return nil }
            return Array(bytes[start + 4..<start + 4 + Int(length)])
        }

        func scalar<T: FixedWidthInteger>(_ table: Int, field slot: Int, _ type: T.Type) -> T? {
            fieldPosition(table, slot).flatMap { read($0, type) }
        }

        func integer(_ table: Int, field slot: Int, _ kind: BaseType) -> Int64? {
            guard let position = fieldPosition(table, slot) else { return 0 }  // absent: the default, 0
            switch kind {
            case .byte: return read(position, Int8.self).map(Int64.init)
            case .ubyte: return read(position, UInt8.self).map(Int64.init)
            case .short: return read(position, Int16.self).map(Int64.init)
            case .ushort: return read(position, UInt16.self).map(Int64.init)
            case .int: return read(position, Int32.self).map(Int64.init)
            case .uint: return read(position, UInt32.self).map(Int64.init)
            case .long: return read(position, Int64.self)
            case .ulong: return read(position, UInt64.self).map { Int64(bitPattern: $0) }
            default: return nil
            }
        }

        /// The strings of a vector of strings; empty if any is out of bounds.
        func strings(_ vector: Int) -> [[UInt8]] {
            var result: [[UInt8]] = []
            for start in tables(vector) {
                guard let length = read(start, UInt32.self), Int(length) <= bytes.count - start - 4 else { return [] }
                result.append(Array(bytes[start + 4..<start + 4 + Int(length)]))
            }
            return result
        }

        /// The bytes of a vector of bytes, nil if out of bounds.
        func byteVector(_ vector: Int) -> [UInt8]? {
            guard let count = read(vector, UInt32.self), Int(count) <= bytes.count - vector - 4 else { return nil }
            return Array(bytes[vector + 4..<vector + 4 + Int(count)])
        }

        /// The tables of a vector of tables, at most as many as the buffer could hold.
        func tables(_ vector: Int) -> [Int] {
            guard let count = read(vector, UInt32.self), Int(count) <= (bytes.count - vector - 4) / 4 else { return [] }
            var result: [Int] = []
            for index in 0..<Int(count) {
                let slot = vector + 4 + 4 * index
                guard let offset = read(slot, UInt32.self), slot + Int(offset) < bytes.count else { return [] }
                result.append(slot + Int(offset))
            }
            return result
        }
    }
}
