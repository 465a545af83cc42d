import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestFixtures
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// Whatever bytes a peer or a Host header sends, every request lands in
/// `istio_requests_total` with its 25 labels: label values are neutralised so
/// that Envoy's tag regexes capture exactly them and the Prometheus text stays
/// parseable (`IstioStats.appendLabelValue`).
@Suite("label values cannot break tag extraction")
struct LabelNeutralizationTests {
    /// Values that broke extraction or the exposition format before neutralisation.
    static let adversarial: [String] = [
        "evil;.", "evil;", "evil;.;", ";.;", ";.", ";", "=.=", "=.", ".=", "a=.=b", "v1;.;hidden", "v1;.;source_version=.=x",
        "line\nbreak", "carriage\rreturn", "\r\n", "tab\there", "nul\u{0}byte", "del\u{7F}", "next\u{85}line",
        "ls\u{2028}ps\u{2029}", "quote\"d", "back\\slash", "\u{301}combining first", "emoji👩‍👩‍👧", "", "unknown",
        String(repeating: ";.", count: 50), String(repeating: "=", count: 7) + ";.",
    ]

    /// A random value over the bytes that matter: separators' characters, line
    /// breaks, quotes, multi-byte scalars, letters.
    static func randomValue(_ generator: inout SystemRandomNumberGenerator) -> String {
        let alphabet: [String] = [
            ";", ".", "=", ";.;", "=.=", "\n", "\r", "\"", "\\", "\u{0}", "\u{85}", "\u{2028}", "é", "\u{301}", "a", "b", "_", " ", "/", ":",
        ]
        var text = ""
        for _ in 0..<Int.random(in: 0...12, using: &generator) { text += alphabet.randomElement(using: &generator)! }
        return text
    }

    /// The stat name stats.wasm builds for 25 labels where label `index` is `value`.
    static func statName(_ value: String, at index: Int) -> String {
        let tags = IstioLabel.names.enumerated().map { ($0.element, $0.offset == index ? value : "v\($0.offset)") }
        return StatsStore.namespace + "." + IstioStats.statName(metric: "requests_total", tags: tags)
    }

    @Test func everyValueIsExtractedIntoItsOwnTagAndTheFamilyStaysIntact() throws {
        let extractor = try TagExtractor(StatsSidecar.istioTagRules)
        var generator = SystemRandomNumberGenerator()
        var values = Self.adversarial
        for _ in 0..<3000 { values.append(Self.randomValue(&generator)) }
        for (offset, value) in values.enumerated() {
            let index = offset % IstioLabel.names.count
            let (family, tags) = extractor.extract(Self.statName(value, at: index))
            #expect(family == "wasmcustom.istio_requests_total", "value \(value.debugDescription) at \(IstioLabel.names[index])")
            let extracted = Dictionary(tags, uniquingKeysWith: { first, _ in first })
            #expect(extracted.count == 25)
            let label = try #require(extracted[IstioLabel.names[index]])
            // What is left of the value: same length in scalars or shorter, no forbidden byte.
            #expect(
                !label.unicodeScalars.contains {
                    $0.value < 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "\\" || $0.value == 0x85 || $0.value == 0x2028 || $0.value == 0x2029
                })
            #expect(!containsBytes(label, ";.;") && !containsBytes(label, "=.="))
            #expect(!Array(label.utf8).reversed().starts(with: Array(";.".utf8).reversed()))
            // Values with nothing to neutralise are kept byte for byte.
            if !value.unicodeScalars.contains(where: {
                $0.value < 0x20 || $0.value == 0x7F || $0 == "\"" || $0 == "\\" || $0.value == 0x85 || $0.value == 0x2028 || $0.value == 0x2029
            }),
                !containsBytes(value, ";.;"), !containsBytes(value, "=.="), !Array(value.utf8).reversed().starts(with: Array(";.".utf8).reversed())
            {
                #expect(label == value)
            }
        }
    }

    @Test func theNeutralisationIsExactlyAsDocumented() {
        let cases: [(String, String)] = [
            ("evil;.", "evil__"), ("evil;", "evil;"), ("a;.;b", "a___b"), ("a=.=b", "a___b"), ("x\ny\rz", "x_y_z"),
            ("q\"b\\", "q_b_"), ("n\u{85}l\u{2028}p\u{2029}", "n_l_p_"), ("plain-value.v1", "plain-value.v1"), ("é", "é"),
        ]
        for (input, expected) in cases {
            let prefix = IstioStats.statNamePrefix(tags: [("t", input)])
            #expect(prefix == "t=.=\(expected);.;", "\(input.debugDescription)")
        }
    }

    /// stats.wasm on an inbound sidecar whose cluster has no service metadata:
    /// the Host header becomes destination_service; the peer's LABELS become
    /// source labels. Every request must be counted in istio_requests_total.
    @Test(arguments: [false, true])
    func hostileHostsAndPeerLabelsAreCountedInTheRightFamily(_ viaPeerLabels: Bool) throws {
        let sidecar = try StatsSidecar()
        for value in Self.adversarial {
            if viaPeerLabels {
                var node = PeerNode()
                node.workloadName = value
                node.namespace = value
                node.labels = [KeyValue("app", value), KeyValue("version", value)]
                sidecar.request(state: StatsSidecar.downstreamPeer(FlatNodeCodec.encode(node)))
            } else {
                sidecar.request(authority: Array(value.utf8))
            }
        }
        #expect(sidecar.vm.failure == nil)
        let text = try sidecar.prometheus()
        let (families, total) = requestsTotalFamilies(text)
        #expect(families == ["istio_requests_total"])
        #expect(total == UInt64(Self.adversarial.count))
        // 25 labels, each `name="value"` (bytes: a `"` followed by a combining mark is one Character).
        for line in text.split(separator: "\n") where line.hasPrefix("istio_requests_total{") {
            #expect(line.utf8.filter { $0 == UInt8(ascii: "\"") }.count == 2 * 25, "\(line)")
        }
    }
}
