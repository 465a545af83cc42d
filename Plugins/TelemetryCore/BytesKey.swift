/// Byte-string equality eight bytes at a time: per request this compares
/// ~1 KB metadata headers and ~800-byte stat names, where a byte loop costs
/// several wasm operators per byte.
public func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    if a.count != b.count { return false }
    return a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in
            let count = left.count
            var offset = 0
            // 32 bytes per step: one branch for four words.
            while offset + 32 <= count {
                let difference =
                    (left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                        ^ right.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    | (left.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                        ^ right.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
                    | (left.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)
                        ^ right.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
                    | (left.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
                        ^ right.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
                if difference != 0 { return false }
                offset += 32
            }
            while offset + 8 <= count {
                if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                {
                    return false
                }
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

/// A byte string as a dictionary key: digested once, eight bytes at a time,
/// while the bytes are hot; compared in full on a digest match. Cheaper per
/// request than building and hashing a `String`, and exact: two keys are
/// equal only when their bytes are. The digest is seeded per process (one
/// random draw), so a peer cannot precompute byte strings that collide.
public struct BytesKey: Hashable {
    public let bytes: [UInt8]
    public let digest: UInt64

    static let seed: UInt64 = UInt64.random(in: UInt64.min...UInt64.max)

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        digest = Self.digest(bytes)
    }

    static func digest(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            let count = raw.count
            var hash = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
            var offset = 0
            while offset + 8 <= count {
                hash = mix(hash, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            if offset < count {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while offset < count {
                    tail |= UInt64(raw[offset]) << shift
                    shift += 8
                    offset += 1
                }
                hash = mix(hash, tail)
            }
            return hash ^ (hash >> 31)
        }
    }

    @inline(__always)
    static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let product = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
        return product ^ (product >> 29)
    }

    public static func == (lhs: BytesKey, rhs: BytesKey) -> Bool { lhs.digest == rhs.digest && sameBytes(lhs.bytes, rhs.bytes) }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }
}
