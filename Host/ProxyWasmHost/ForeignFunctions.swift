import CZlib
import ProxyWasmABI

extension PluginVM {
    /// Registers a foreign function the guest can reach with `proxy_call_foreign_function`.
    public func registerForeignFunction(_ name: String, _ function: @escaping ForeignFunction) {
        foreignFunctions[name] = function
    }

    /// The foreign functions Envoy provides that this host implements.
    func registerEnvoyForeignFunctions() {
        registerForeignFunction("declare_property") { vm, arguments in vm.declareProperty(arguments) }
        registerForeignFunction("clear_route_cache") { _, _ in (.ok, []) }
        registerForeignFunction("compress") { _, arguments in Zlib.compress(arguments) }
        registerForeignFunction("uncompress") { _, arguments in Zlib.uncompress(arguments) }
        registerCELForeignFunctions()
    }

    /// Envoy's `declare_property`: `DeclarePropertyArguments{1: name, 2: readonly,
    /// 3: type, 4: schema, 5: span}`; an unparsable message or a second
    /// declaration of the same name is BadArgument.
    func declareProperty(_ arguments: [UInt8]) -> (WasmResult, [UInt8]) {
        guard let fields = ProtobufFields.parse(arguments), let nameBytes = fields[1] else { return (.badArgument, []) }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard !name.isEmpty, declaredProperties[name] == nil else { return (.badArgument, []) }
        func number(_ field: UInt64) -> UInt64 {
            guard let bytes = fields[field] else { return 0 }
            return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        guard let type = DeclaredProperty.ValueType(rawValue: number(3)),
            let span = DeclaredProperty.LifeSpan(rawValue: number(5))
        else { return (.badArgument, []) }
        declaredProperties[name] = DeclaredProperty(
            name: name, readonly: number(2) != 0, type: type,
            schema: fields[4] ?? [], span: span)
        return (.ok, [])
    }
}

/// One `declare_property` declaration (Envoy's `CelStatePrototype`).
public struct DeclaredProperty: Equatable, Sendable {
    /// Envoy's `WasmType`.
    public enum ValueType: UInt64, Sendable {
        case bytes = 0
        case string = 1
        case flatBuffers = 2
        case protobuf = 3
    }
    /// Envoy's `LifeSpan` of the filter state entry.
    public enum LifeSpan: UInt64, Sendable {
        case filterChain = 0
        case downstreamRequest = 1
        case downstreamConnection = 2
    }

    public let name: String
    public let readonly: Bool
    public let type: ValueType
    /// The binary FlatBuffers schema (`.bfbs`) or protobuf descriptor, by `type`.
    public let schema: [UInt8]
    public let span: LifeSpan
}

/// Just enough protobuf wire-format reading for foreign-function arguments:
/// the last value of each field number, as bytes (varints re-encoded little-endian).
enum ProtobufFields {
    static func parse(_ bytes: [UInt8]) -> [UInt64: [UInt8]]? {
        var fields: [UInt64: [UInt8]] = [:]
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count {
            guard let key = varint() else { return nil }
            let number = key >> 3
            switch key & 7 {
            case 0:
                guard let value = varint() else { return nil }
                fields[number] = PropertyValue.encode(uint64: value)
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - index) else { return nil }
                fields[number] = Array(bytes[index..<index + Int(length)])
                index += Int(length)
            case 1:
                guard bytes.count - index >= 8 else { return nil }
                fields[number] = Array(bytes[index..<index + 8])
                index += 8
            case 5:
                guard bytes.count - index >= 4 else { return nil }
                fields[number] = Array(bytes[index..<index + 4])
                index += 4
            default:
                return nil
            }
        }
        return fields
    }
}

/// Envoy's `compress` / `uncompress` foreign functions: zlib's one-shot
/// `compress` (zlib format, default level) and `uncompress`.
enum Zlib {
    static func compress(_ input: [UInt8]) -> (WasmResult, [UInt8]) {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { CZlib.compress(out.baseAddress, &length, $0.baseAddress, uLong(input.count)) }
        }
        guard status == Z_OK else { return (.serializationFailure, []) }
        return (.ok, Array(output.prefix(Int(length))))
    }

    /// Envoy sizes the output at `2 * input + 2` bytes and grows it only when
    /// zlib reports Z_MEM_ERROR. An output that does not fit gives Z_BUF_ERROR,
    /// which Envoy answers with SerializationFailure like corrupt input: data
    /// that compressed better than about 2:1 cannot be uncompressed through
    /// Envoy, and a plugin tested here learns that before production does.
    static func uncompress(_ input: [UInt8]) -> (WasmResult, [UInt8]) {
        var capacity = uLong(input.count) * 2 + 2
        while true {
            var length = capacity
            var output = [UInt8](repeating: 0, count: Int(capacity))
            let status = output.withUnsafeMutableBufferPointer { out in
                input.withUnsafeBufferPointer { CZlib.uncompress(out.baseAddress, &length, $0.baseAddress, uLong(input.count)) }
            }
            if status == Z_OK { return (.ok, Array(output.prefix(Int(length)))) }
            guard status == Z_MEM_ERROR else { return (.serializationFailure, []) }
            capacity *= 2
        }
    }
}
