// libFuzzer target: a label value from a peer or a header, written into a
// stat name. The written value must never contain what breaks Envoy's tag
// extraction or the Prometheus text.
import TelemetryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabelValue(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let value = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let name = IstioStats.statNamePrefixBytes(tags: [("a", value), ("b", "x")])
    // a=.=<value>;.;b=.=x;.;
    let tail = Array(";.;b=.=x;.;".utf8)
    precondition(Array(name.prefix(4)) == Array("a=.=".utf8) && Array(name.suffix(tail.count)) == tail, "the other tags changed")
    let written = Array(name.dropFirst(4).dropLast(tail.count))
    for byte in written { precondition(byte >= 0x20 && byte != 0x7F && byte != 0x22 && byte != 0x5C, "byte \(byte) kept") }
    let text = String(decoding: written, as: UTF8.self)
    for forbidden: Unicode.Scalar in ["\u{85}", "\u{2028}", "\u{2029}"] { precondition(!text.unicodeScalars.contains(forbidden)) }
    func contains(_ needle: [UInt8]) -> Bool {
        guard written.count >= needle.count else { return false }
        for start in 0...(written.count - needle.count) where Array(written[start..<start + needle.count]) == needle { return true }
        return false
    }
    precondition(!contains(Array(";.;".utf8)) && !contains(Array("=.=".utf8)), "separator kept")
    precondition(!written.reversed().starts(with: Array(";.".utf8).reversed()), "dangling separator start kept")
    return 0
}
