import ProxyWasmABI

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
