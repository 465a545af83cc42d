import Foundation
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import Testing

/// `make fidelity ANCHOR_WASM_DIR=...`: Istio 1.12's own prebuilt modules
/// (not part of this repository) through the golden two-sidecar mesh in the
/// host, with Istio's shipped test configurations and no attribute set by
/// hand, compared with Istio's expected files. When they differ, it prints
/// each label that differs and the calls the host answered NotFound or
/// Unimplemented, which is where the host and Envoy part. Skipped without
/// ANCHOR_WASM_DIR, so `make test` never needs the modules.
@Suite(
    "Istio 1.12 modules against Istio's expected files (make fidelity)",
    .enabled(if: ProcessInfo.processInfo.environment["ANCHOR_WASM_DIR"] != nil))
struct IstioFidelityTests {
    static var modules: GoldenMesh.Modules {
        .istio(ProcessInfo.processInfo.environment["ANCHOR_WASM_DIR"] ?? "")
    }

    /// `name{a="1",b="2"} 3` as labels and value.
    static func parse(_ line: String) -> (labels: [(String, String)], value: String) {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") else { return ([], line) }
        var labels: [(String, String)] = []
        for pair in line[line.index(after: open)..<close].components(separatedBy: "\",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            labels.append((parts[0], parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
        }
        return (labels, String(line[line.index(after: close)...]).trimmingCharacters(in: .whitespaces))
    }

    /// One line per label that differs between the expected and the actual series.
    static func differences(expected: [String], actual: [String]) -> [String] {
        guard let want = expected.first else { return ["no expected series"] }
        guard let got = actual.first else { return ["no series at all (expected \(want))"] }
        let wanted = Dictionary(Self.parse(want).labels, uniquingKeysWith: { $1 })
        let found = Dictionary(Self.parse(got).labels, uniquingKeysWith: { $1 })
        var lines: [String] = []
        for (name, value) in Self.parse(want).labels where found[name] != value {
            lines.append("\(name): expected \"\(value)\", got \(found[name].map { "\"\($0)\"" } ?? "no label")")
        }
        for (name, value) in Self.parse(got).labels where wanted[name] == nil { lines.append("\(name): unexpected \"\(value)\"") }
        if Self.parse(want).value != Self.parse(got).value { lines.append("value: expected \(Self.parse(want).value), got \(Self.parse(got).value)") }
        if actual.count > 1 { lines.append("\(actual.count) series instead of one") }
        return lines
    }

    @Test func requestTotalsOnBothSides() throws {
        let runner = try GoldenMesh.http(
            requests: 10, clientConfig: IstioTestdata.clientConfiguration,
            serverConfig: IstioTestdata.serverConfiguration, modules: Self.modules)
        let vars = ["RequestCount": "10", "GrpcResponseStatus": ""]
        var report: [String] = []
        for (proxy, file) in [("client", "client_request_total.yaml.tmpl"), ("server", "server_request_total.yaml.tmpl")] {
            let text = runner.prometheus().first { $0.proxy == proxy }!.text
            let actual = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("istio_requests_total{") }
            let differing = Self.differences(expected: IstioTestdata.expectedLines(file, vars: vars), actual: actual)
            report += differing.map { "\(proxy) \(file): \($0)" }
        }
        for running in runner.proxies {
            for plugin in running.plugins where !plugin.vm.answers.isEmpty {
                report.append("\(running.spec.name)/\(plugin.spec.name) answered: \(plugin.vm.answers.summary)")
            }
        }
        print(report.isEmpty ? "fidelity: every label matches Istio's expected files" : report.joined(separator: "\n"))
        #expect(report.filter { !$0.contains(" answered: ") }.isEmpty, "\(report.joined(separator: "\n"))")
    }

    /// Istio's TCP e2e files through Istio's stats module (with our TCP
    /// exchange, as Istio 1.12's is native Envoy code).
    @Test func tcpMetricsOnBothSides() throws {
        let directory = ProcessInfo.processInfo.environment["ANCHOR_WASM_DIR"] ?? ""
        let runner = try GoldenMesh.tcp(statsModule: "\(directory)/stats-filter.wasm", dialect: "legacy")
        var report: [String] = []
        for side in ["client", "server"] {
            let text = runner.prometheus().first { $0.proxy == side }!.text
            for (file, family) in [
                ("connection_open", "istio_tcp_connections_opened_total"), ("connection_close", "istio_tcp_connections_closed_total"),
                ("received_bytes", "istio_tcp_received_bytes_total"), ("sent_bytes", "istio_tcp_sent_bytes_total"),
            ] {
                let expected = IstioTestdata.expectedLines(
                    "tcp_\(side)_\(file).yaml.tmpl",
                    vars: ["ConnectionCount": "10", "ReceivedBytes": "60", "SentBytes": "120"])
                let actual = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(family + "{") }
                report += Self.differences(expected: expected, actual: actual).map { "\(side) tcp_\(side)_\(file): \($0)" }
            }
        }
        for running in runner.proxies {
            for plugin in running.plugins where !plugin.vm.answers.isEmpty {
                report.append("\(running.spec.name)/\(plugin.spec.name) answered: \(plugin.vm.answers.summary)")
            }
        }
        print(report.isEmpty ? "fidelity: every TCP label matches Istio's expected files" : report.joined(separator: "\n"))
        #expect(report.filter { !$0.contains(" answered: ") }.isEmpty, "\(report.joined(separator: "\n"))")
    }
}
