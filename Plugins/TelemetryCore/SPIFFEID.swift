/// Istio's workload identities: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.
public enum SPIFFEID {
    /// The namespace of an Istio SPIFFE id; nil for anything else (another
    /// scheme, another path layout, an empty part).
    public static func namespace(_ principal: String) -> String? {
        var principal = principal
        return principal.withUTF8 { bytes -> String? in
            guard var index = skip("spiffe://", in: bytes, at: 0) else { return nil }
            let domainStart = index
            while index < bytes.count && bytes[index] != UInt8(ascii: "/") { index += 1 }
            guard index > domainStart, let namespaceStart = skip("/ns/", in: bytes, at: index) else { return nil }
            index = namespaceStart
            while index < bytes.count && bytes[index] != UInt8(ascii: "/") { index += 1 }
            let namespaceEnd = index
            guard namespaceEnd > namespaceStart, let accountStart = skip("/sa/", in: bytes, at: index),
                accountStart < bytes.count
            else { return nil }
            for byte in bytes[accountStart...] where byte == UInt8(ascii: "/") { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[namespaceStart..<namespaceEnd]), as: UTF8.self)
        }
    }

    /// The index after `text` if the bytes at `index` are `text`.
    private static func skip(_ text: StaticString, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return nil }
        return index + count
    }
}
