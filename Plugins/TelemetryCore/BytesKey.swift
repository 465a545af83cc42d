/// Byte-string equality eight bytes at a time: per request this compares
/// ~1 KB metadata headers and ~800-byte stat names, where a byte loop costs
/// several wasm operators per byte.
public func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    if a.count != b.count { return false }
    return a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in
            let count = left.count
            var offset = 0
            while offset + 8 <= count {
                if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
                offset += 8
            }
            while offset < count {
                if left[offset] != right[offset] { return false }
                offset += 1
            }
            return true
        }
    }
}

/// A byte string as a dictionary key: hashed once with FNV-1a while the bytes
/// are hot, compared in full on a digest match. Cheaper per request than
/// building and hashing a `String`, and exact: two keys are equal only when
/// their bytes are (FNV is not collision-resistant, so the digest alone never
/// decides).
public struct BytesKey: Hashable {
    public let bytes: [UInt8]
    public let digest: UInt64

    public init(_ bytes: [UInt8]) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        self.bytes = bytes
        digest = hash
    }

    public static func == (lhs: BytesKey, rhs: BytesKey) -> Bool { lhs.digest == rhs.digest && sameBytes(lhs.bytes, rhs.bytes) }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }
}
