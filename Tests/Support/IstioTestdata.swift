import Foundation
import ProxyWasmHost
import ProxyWasmTestFixtures
import TelemetryCore
import Yams

/// Istio's own test data, copied under `Tests/Fixtures/istio` (each directory's
/// README names its origin): istio/proxy 1.12.0's testdata, the metadata
/// exchange vectors computed from it, and its expected metric files.
public enum IstioTestdata {
    /// istio/proxy 1.12.0 testdata.
    public static let proxy112 = FixtureFiles.url("istio/proxy-1.12.0")
    /// Vectors computed from that testdata (`Tests/Fixtures/istio/computed`).
    public static let computed = FixtureFiles.url("istio/computed")

    /// A file of istio/proxy 1.12.0's testdata, as text.
    public static func text(_ path: String) -> String {
        try! String(contentsOf: proxy112.appendingPathComponent(path), encoding: .utf8)
    }

    /// Istio's node metadata (testdata/*_node_metadata.json.tmpl, rendered) as node properties.
    public static func nodeMetadata(_ file: String) -> [PropertyEntry] {
        let data = FileManager.default.contents(atPath: computed.appendingPathComponent(file).path)!
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json.keys.sorted().compactMap { key in
            if let text = json[key] as? String { return PropertyEntry(key, .string(text)) }
            if let map = json[key] as? [String: String] {
                return PropertyEntry(key, .map(map.keys.sorted().map { PropertyEntry($0, .string(map[$0]!)) }))
            }
            return nil
        }
    }

    /// One field of a metadata exchange vector (`mx_<name>_1.12semantics.txt`).
    public static func exchangeVector(_ name: String, _ field: String) -> String {
        let text = try! String(contentsOf: computed.appendingPathComponent("mx_\(name)_1.12semantics.txt"), encoding: .utf8)
        return text.split(separator: "\n").first { $0.hasPrefix(field + ":") }!.dropFirst(field.count + 1)
            .trimmingCharacters(in: .whitespaces)
    }

    /// The server's peer as metadata_exchange stores it: the server vector's
    /// header decoded and re-encoded as a FlatNode.
    public static func serverPeerNode() throws -> [UInt8] {
        FlatNodeCodec.encode(
            PeerNode.fromStruct(try StructCodec.decodeStruct(Base64.decode(Array(exchangeVector("server", "header_b64").utf8))!)))
    }

    /// Istio's stats/*.yaml plugin configuration as the JSON string Envoy hands the plugin.
    public static func statsConfiguration(_ file: String) -> String {
        let document = try! Yams.load(yaml: text("stats/\(file)"))!
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The client and server stats configurations of Istio's e2e tests.
    public static let clientConfiguration = statsConfiguration("client_config.yaml")
    public static let serverConfiguration = statsConfiguration("server_config.yaml")

    /// The expected series of one metric file (under `testdata`, istio/proxy 1.12.0's by
    /// default) as `name{labels} value` lines, labels in file order.
    public static func expectedLines(_ file: String, vars: [String: String], testdata: URL = proxy112) -> [String] {
        let template = try! String(contentsOf: testdata.appendingPathComponent("metric/\(file)"), encoding: .utf8)
        return seriesLines(GoTemplate.render(template, variables: vars))
    }

    /// A rendered metric file (Istio's `metric`/`label` YAML) as series lines.
    public static func seriesLines(_ rendered: String) -> [String] {
        var name = ""
        var value = ""
        var labels: [(String, String)] = []
        var pendingLabel: String?
        func unquote(_ text: String) -> String {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("\"") ? String(trimmed.dropFirst().dropLast()) : trimmed
        }
        for line in rendered.split(separator: "\n").map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("name: ") {
                name = unquote(String(line.dropFirst(6)))
            } else if trimmed.hasPrefix("- name: ") {
                pendingLabel = unquote(String(trimmed.dropFirst(8)))
            } else if trimmed.hasPrefix("value: ") {
                let text = unquote(String(trimmed.dropFirst(7)))
                if let label = pendingLabel {
                    labels.append((label, text))
                    pendingLabel = nil
                } else {
                    value = text
                }
            }
        }
        return ["\(name){" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "} \(value)"]
    }

    /// The test bootstrap's stats_tags, in order.
    public static func statsTags() -> [StatsTagRule] {
        var rules: [StatsTagRule] = []
        var tag: String?
        for line in text("bootstrap/stats.yaml.tmpl").split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- tag_name: ") { tag = String(trimmed.dropFirst(12)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if trimmed.hasPrefix("regex: "), let name = tag {
                let quoted = String(trimmed.dropFirst(7)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                rules.append(StatsTagRule(name: name, pattern: quoted.replacingOccurrences(of: "\\\\", with: "\\")))
                tag = nil
            }
        }
        return rules
    }
}
