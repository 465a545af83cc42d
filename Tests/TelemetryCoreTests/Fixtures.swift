import Foundation
import ProxyWasmTestFixtures

/// Test data under Tests/Fixtures (see its README for origins).
enum Fixtures {
    static func data(_ path: String) -> Data {
        FileManager.default.contents(atPath: FixtureFiles.url(path).path)!
    }

    /// A computed metadata-exchange vector: struct_hex, header_b64, tcp_prefix_hex.
    static func vector(_ name: String) -> [String: String] {
        let text = String(decoding: data("istio/computed/mx_\(name)_1.12semantics.txt"), as: UTF8.self)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    /// Node metadata JSON as the strings and maps a proxy's properties hold.
    static func nodeMetadata(_ file: String) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: data("istio/computed/\(file)")) as! [String: Any]
    }
}
