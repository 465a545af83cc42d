/// Bytes from a hex string ("789c..."); test vectors are written this way.
public func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// Whether `part`'s UTF-8 bytes occur in `text`'s, compared byte for byte (as
/// Envoy and Prometheus compare names, with no Unicode equivalence).
public func containsBytes(_ text: String, _ part: String) -> Bool {
    let bytes = Array(text.utf8)
    let needle = Array(part.utf8)
    guard bytes.count >= needle.count else { return false }
    for start in 0...(bytes.count - needle.count) where Array(bytes[start..<start + needle.count]) == needle { return true }
    return false
}
