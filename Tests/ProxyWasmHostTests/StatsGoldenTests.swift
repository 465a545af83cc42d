import Foundation
import ProxyWasmABI
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing
import Yams

@testable import ProxyWasmHost

/// stats.wasm + metadata_exchange.wasm on a client and a server sidecar in the
/// host, compared with Istio's own expected series (istio/proxy 1.12.0
/// testdata/metric), label for label and value for value.
@Suite("stats.wasm golden scenarios")
struct StatsGoldenTests {
    static let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/istio/proxy-1.12.0")

    static func text(_ path: String) -> String {
        try! String(contentsOf: testdata.appendingPathComponent(path), encoding: .utf8)
    }

    /// Renders the Go-template constructs Istio's metric files use.
    static func render(_ template: String, vars: [String: String]) -> String {
        var output: [String] = []
        var stack: [(active: Bool, taken: Bool)] = []
        for line in template.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("{{- if .Vars.") || trimmed.hasPrefix("{{ if .Vars.") {
                let name = trimmed.components(separatedBy: ".Vars.")[1].components(separatedBy: " ")[0]
                let condition = !(vars[name] ?? "").isEmpty
                let parentActive = stack.last?.active ?? true
                stack.append((parentActive && condition, condition))
                continue
            }
            if trimmed.hasPrefix("{{- else }}") || trimmed.hasPrefix("{{ else }}") {
                let parentActive = stack.count > 1 ? stack[stack.count - 2].active : true
                stack[stack.count - 1].active = parentActive && !stack[stack.count - 1].taken
                continue
            }
            if trimmed.hasPrefix("{{- end }}") || trimmed.hasPrefix("{{ end }}") {
                stack.removeLast()
                continue
            }
            if stack.last?.active ?? true {
                var rendered = String(line)
                for (name, value) in vars {
                    rendered = rendered.replacingOccurrences(of: "{{ .Vars.\(name) }}", with: value)
                    rendered = rendered.replacingOccurrences(of: "{{ .Ports.\(name) }}", with: value)
                }
                output.append(rendered)
            }
        }
        return output.joined(separator: "\n")
    }

    /// The expected series as `name{labels} value` lines, labels in file order.
    static func expectedLines(_ file: String, vars: [String: String]) -> [String] {
        let rendered = render(text("metric/\(file)"), vars: vars)
        var name = ""
        var kind = ""
        var value = ""
        var labels: [(String, String)] = []
        var lines: [String] = []
        func unquote(_ text: String) -> String {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("\"") ? String(trimmed.dropFirst().dropLast()) : trimmed
        }
        var pendingLabel: String?
        for line in rendered.split(separator: "\n").map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("name: ") {
                name = unquote(String(line.dropFirst(6)))
            } else if line.hasPrefix("type: ") {
                kind = String(line.dropFirst(6))
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
        _ = kind
        lines.append("\(name){" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "} \(value)")
        return lines
    }

    /// The test bootstrap's stats_tags, in order.
    static func statsTags() -> [StatsTagRule] {
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

    /// The modules a golden scenario runs: ours, or (`make fidelity`) Istio 1.12's own.
    struct Modules {
        var metadataExchange: String
        var stats: String
        /// Istio's metadata exchange registers no root id and reads a JSON object.
        var exchangeRootID: String? = nil
        var dialect = "current"

        static var ours: Modules {
            let wasm = BuiltModules.directory.path
            return Modules(metadataExchange: "\(wasm)/metadata_exchange.wasm", stats: "\(wasm)/stats.wasm")
        }

        static func istio(_ directory: String) -> Modules {
            Modules(
                metadataExchange: "\(directory)/metadata-exchange-filter.wasm", stats: "\(directory)/stats-filter.wasm",
                exchangeRootID: "", dialect: "legacy")
        }
    }

    static func scenario(
        requests: Int, clientConfig: String, serverConfig: String, elideServerMetadata: Bool = false,
        engine: Engine = .wasm, modules: Modules = .ours
    ) throws -> ScenarioRunner {
        let services =
            elideServerMetadata
            ? "{}"
            : "{istio: {services: [{host: server.default.svc.cluster.local, name: server, namespace: default}]}}"
        let exchangeRoot = modules.exchangeRootID.map { ", root_id: '\($0)'" } ?? ""
        let yaml = """
            dialect: \(modules.dialect)
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                stream_properties: {xds: {cluster_name: server-outbound-cluster, cluster_metadata: {filter_metadata: \(services)}}}
                plugins:
                  - {name: mx, module: \(modules.metadataExchange)\(exchangeRoot), configuration: {max_peer_cache_size: 20}}
                  - {name: stats, module: \(modules.stats), root_id: stats_outbound, configuration: '\(clientConfig.replacingOccurrences(of: "'", with: "''"))'}
              - name: server
                node: {id: server}
                listener_direction: inbound
                stream_properties: {xds: {cluster_name: server-inbound-cluster, cluster_metadata: {filter_metadata: \(services)}}}
                plugins:
                  - {name: mx, module: \(modules.metadataExchange)\(exchangeRoot), configuration: {max_peer_cache_size: 20}}
                  - {name: stats, module: \(modules.stats), root_id: stats_inbound, configuration: '\(serverConfig.replacingOccurrences(of: "'", with: "''"))'}
            traffic:
              - http:
                  through: [client, server]
                  request: {headers: {":authority": "127.0.0.1:20000"}}
                  response: {status: 200}
                  repeat: \(requests)
            """
        var parsed = try Scenario.load(yaml: yaml, file: "golden.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        parsed.proxies[0].metadata = MetadataExchangeTests.metadata("client_node_metadata.rendered.json")
        parsed.proxies[1].metadata = MetadataExchangeTests.metadata("server_node_metadata.rendered.json")
        parsed.proxies[0].statsTags = .rules(statsTags())
        parsed.proxies[1].statsTags = .rules(statsTags())
        let runner = try ScenarioRunner(scenario: parsed, loader: engine.loader)
        runner.run()
        for proxy in runner.proxies {
            for plugin in proxy.plugins {
                #expect(plugin.vm.failure == nil && plugin.vm.unimplementedCalls.isEmpty, "\(proxy.spec.name)/\(plugin.spec.name)")
            }
        }
        return runner
    }

    static let clientConfig = config("client_config.yaml")
    static let serverConfig = config("server_config.yaml")

    func series(_ runner: ScenarioRunner, _ proxy: String, _ family: String) -> [String] {
        let text = runner.prometheus().first { $0.proxy == proxy }!.text
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(family + "{") }
    }

    @Test(arguments: Engine.allCases)
    func clientAndServerRequestTotalsMatchIstiosExpectedFiles(engine: Engine) throws {
        let runner = try Self.scenario(requests: 10, clientConfig: Self.clientConfig, serverConfig: Self.serverConfig, engine: engine)
        let vars = ["RequestCount": "10", "GrpcResponseStatus": ""]
        #expect(series(runner, "client", "istio_requests_total") == Self.expectedLines("client_request_total.yaml.tmpl", vars: vars))
        #expect(series(runner, "server", "istio_requests_total") == Self.expectedLines("server_request_total.yaml.tmpl", vars: vars))
    }

    /// Istio's stats/*.yaml plugin configuration as the JSON string Envoy hands the plugin.
    static func config(_ file: String) -> String {
        let document = try! Yams.load(yaml: Self.text("stats/\(file)"))!
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func hostHeaderFallbackWithoutServiceMetadata() throws {
        let runner = try Self.scenario(
            requests: 10, clientConfig: Self.clientConfig, serverConfig: Self.serverConfig,
            elideServerMetadata: true)
        let expected = Self.expectedLines("host_header_fallback.yaml.tmpl", vars: ["RequestCount": "10", "ClientPort": "20000"])
        #expect(series(runner, "client", "istio_requests_total") == expected)
    }

    @Test func disabledHostHeaderFallbackMatchesBothSides() throws {
        let runner = try Self.scenario(
            requests: 10, clientConfig: Self.config("client_config_disable_header_fallback.yaml"),
            serverConfig: Self.config("server_config_disable_header_fallback.yaml"),
            elideServerMetadata: true)
        let vars = ["RequestCount": "10"]
        #expect(series(runner, "client", "istio_requests_total") == Self.expectedLines("client_disable_host_header_fallback.yaml.tmpl", vars: vars))
        #expect(series(runner, "server", "istio_requests_total") == Self.expectedLines("server_disable_host_header_fallback.yaml.tmpl", vars: vars))
    }

    /// Istio's TCP e2e: 10 mTLS connections through client and server sidecars,
    /// each sending `world\n` and receiving `hello world\n`.
    @Test(arguments: Engine.allCases)
    func tcpMetricsMatchIstiosExpectedFiles(engine: Engine) throws {
        let runner = try Self.tcpScenario(engine: engine)
        #expect(
            runner.tcpOutcomes.allSatisfy { $0.receivedByUpstream == Array("world\n".utf8) && $0.receivedByDownstream == Array("hello world\n".utf8) }
        )
        for proxy in runner.proxies {
            for plugin in proxy.plugins { #expect(plugin.vm.failure == nil && plugin.vm.unimplementedCalls.isEmpty) }
        }
        for (side, proxy) in [("client", "client"), ("server", "server")] {
            for (file, family) in [
                ("connection_open", "istio_tcp_connections_opened_total"), ("connection_close", "istio_tcp_connections_closed_total"),
                ("received_bytes", "istio_tcp_received_bytes_total"), ("sent_bytes", "istio_tcp_sent_bytes_total"),
            ] {
                let expected = Self.expectedLines(
                    "tcp_\(side)_\(file).yaml.tmpl", vars: ["ConnectionCount": "10", "ReceivedBytes": "60", "SentBytes": "120"])
                #expect(series(runner, proxy, family) == expected, "\(side) \(file)")
            }
        }
    }

    /// The TCP mesh of Istio's e2e test, run: with our modules, or with
    /// `statsModule` (Istio's own, `make fidelity`) beside our TCP exchange
    /// (Istio 1.12's TCP exchange is native Envoy code, not a module).
    static func tcpScenario(engine: Engine = .wasm, statsModule: String? = nil, dialect: String = "current") throws -> ScenarioRunner {
        let wasm = BuiltModules.directory.path
        let stats = statsModule ?? "\(wasm)/stats.wasm"
        let services = "{istio: {services: [{host: server.default.svc.cluster.local, name: server, namespace: default}]}}"
        let tcpStats = #"{"debug": "false", "field_separator": ";.;", "tcp_reporting_duration": "1s"}"#
        let yaml = """
            dialect: \(dialect)
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                stream_properties:
                  upstream: {uri_san_local_certificate: "spiffe://cluster.local/ns/default/sa/client", uri_san_peer_certificate: "spiffe://cluster.local/ns/default/sa/server"}
                  xds: {cluster_name: "outbound|9080|tcp|server.default.svc.cluster.local", cluster_metadata: {filter_metadata: \(services)}}
                plugins:
                  - {name: stats, module: \(stats), root_id: stats_outbound, kind: tcp, configuration: '\(tcpStats)'}
                  - {name: mx, module: \(wasm)/metadata_exchange.wasm, kind: tcp}
              - name: server
                node: {id: server}
                listener_direction: inbound
                stream_properties:
                  connection: {mtls: true, uri_san_peer_certificate: "spiffe://cluster.local/ns/default/sa/client", uri_san_local_certificate: "spiffe://cluster.local/ns/default/sa/server"}
                  xds: {cluster_name: "inbound|9080|tcp|server.default.svc.cluster.local", cluster_metadata: {filter_metadata: \(services)}}
                plugins:
                  - {name: mx, module: \(wasm)/metadata_exchange.wasm, kind: tcp}
                  - {name: stats, module: \(stats), root_id: stats_inbound, kind: tcp, configuration: '\(tcpStats)'}
            traffic:
              - tcp:
                  through: [client, server]
                  exchanges: [{downstream: "world\\n"}, {upstream: "hello world\\n", end: true}]
                  repeat: 10
            """
        var parsed = try Scenario.load(yaml: yaml, file: "tcp.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        parsed.proxies[0].metadata = MetadataExchangeTests.metadata("client_node_metadata.rendered.json")
        parsed.proxies[1].metadata = MetadataExchangeTests.metadata("server_node_metadata.rendered.json")
        parsed.proxies[0].statsTags = .rules(Self.statsTags())
        parsed.proxies[1].statsTags = .rules(Self.statsTags())
        let runner = try ScenarioRunner(scenario: parsed, loader: engine.loader)
        runner.run()
        return runner
    }

    @Test func istioBuildMatches() throws {
        let runner = try Self.scenario(requests: 1, clientConfig: Self.serverConfig, serverConfig: Self.serverConfig)
        #expect(series(runner, "client", "istio_build") == Self.expectedLines("istio_build.yaml", vars: [:]))
    }
}

/// Periodic TCP reporting: nothing while metadata exchange is undecided (for
/// up to one reporting interval, `StatsTcpWithoutPeerTests`), deltas afterwards.
@Suite("stats.wasm TCP ticks")
struct StatsTickTests {
    @Test func connectionsReportOnTicksOnceThePeerIsDecided() throws {
        let proxy = Proxy(name: "server")
        proxy.setNode(id: "server", metadata: MetadataExchangeTests.metadata("server_node_metadata.rendered.json"))
        let vm = PluginVM(proxy: proxy, vmID: "stats")
        _ = try WasmKitGuest.load(try BuiltModules.bytes("stats"), into: vm)
        let root = try vm.startPlugin(
            PluginConfiguration(
                name: "stats", rootID: "stats_inbound",
                configuration: Array(#"{"tcp_reporting_duration": "1s"}"#.utf8)))
        let renderer = try PrometheusRenderer(configuration: EnvoyStatsConfig.statsConfiguration(pluginConfigurations: []))
        func value(_ family: String) -> String? {
            renderer.render(proxy.stats).split(separator: "\n").first { $0.hasPrefix(family + "{") }.map { String($0.split(separator: " ").last!) }
        }
        let connection = TcpConnection(vm: vm, root: root)
        connection.open()
        connection.downstreamData(Array("abcd".utf8))
        proxy.advanceClock(byMilliseconds: 999)
        #expect(value("istio_tcp_connections_opened_total") == nil)  // still waiting for the peer
        connection.streamState.filterState["wasm.downstream_peer_id"] = Array("envoy.wasm.metadata_exchange.peer_unknown".utf8)
        proxy.advanceClock(byMilliseconds: 1)
        #expect(value("istio_tcp_connections_opened_total") == "1")
        #expect(value("istio_tcp_received_bytes_total") == "4")
        connection.downstreamData(Array("ef".utf8))
        proxy.advanceClock(byMilliseconds: 1000)
        #expect(value("istio_tcp_received_bytes_total") == "6")
        #expect(value("istio_tcp_connections_opened_total") == "1")  // once only
        connection.close()
        #expect(value("istio_tcp_connections_closed_total") == "1")
        #expect(vm.failure == nil && vm.unimplementedCalls.isEmpty)
    }
}

/// Istio's gRPC streaming e2e: message counters reported on ticks (deltas) and at the end,
/// compared with Istio's {client,server}_{request,response}_messages files.
@Suite("stats.wasm gRPC message counters")
struct StatsGRPCTests {
    @Test func messageCountersMatchIstiosExpectedFiles() throws {
        let wasm = BuiltModules.directory.path
        let services = "{istio: {services: [{host: server.default.svc.cluster.local, name: server, namespace: default}]}}"
        func grpcConfig(_ file: String) -> String {
            let text = StatsGoldenTests.render(StatsGoldenTests.text("stats/\(file)"), vars: [:])
            let document = try! Yams.load(yaml: text)!
            return String(decoding: try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), as: UTF8.self)
                .replacingOccurrences(of: "'", with: "''")
        }
        let yaml = """
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                stream_properties: {xds: {cluster_metadata: {filter_metadata: \(services)}}}
                plugins:
                  - {name: mx, module: \(wasm)/metadata_exchange.wasm}
                  - {name: stats, module: \(wasm)/stats.wasm, root_id: stats_outbound, configuration: '\(grpcConfig("client_config_grpc.yaml.tmpl"))'}
              - name: server
                node: {id: server}
                listener_direction: inbound
                stream_properties: {connection: {mtls: false}, xds: {cluster_metadata: {filter_metadata: \(services)}}}
                plugins:
                  - {name: mx, module: \(wasm)/metadata_exchange.wasm}
                  - {name: stats, module: \(wasm)/stats.wasm, root_id: stats_inbound, configuration: '\(grpcConfig("server_config_grpc.yaml.tmpl"))'}
            """
        var parsed = try Scenario.load(yaml: yaml, file: "grpc.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        parsed.proxies[0].metadata = MetadataExchangeTests.metadata("client_node_metadata.rendered.json")
        parsed.proxies[1].metadata = MetadataExchangeTests.metadata("server_node_metadata.rendered.json")
        parsed.proxies[0].statsTags = .rules(StatsGoldenTests.statsTags())
        parsed.proxies[1].statsTags = .rules(StatsGoldenTests.statsTags())
        let runner = try ScenarioRunner(scenario: parsed)
        // One bidirectional stream through both sidecars, driven by hand so ticks can fall in between.
        var streams: [(proxy: ScenarioRunner.RunningProxy, stream: HttpStream)] = []
        for proxy in runner.proxies {
            let shared = StreamState()
            for plugin in proxy.plugins {
                streams.append((proxy, HttpStream(vm: plugin.vm, root: plugin.root, properties: proxy.spec.streamProperties, streamState: shared)))
            }
        }
        var headers = [
            HeaderPair(":method", "POST"), HeaderPair(":path", "/grpc.testing.TestService/FullDuplexCall"),
            HeaderPair(":authority", "127.0.0.1:20000"), HeaderPair("content-type", "application/grpc"),
        ]
        for entry in streams {
            entry.stream.sendRequestHeaders(headers, endOfStream: false)
            headers = entry.stream.requestHeaders
        }
        var response = [HeaderPair(":status", "200"), HeaderPair("content-type", "application/grpc")]
        for entry in streams.reversed() {
            entry.stream.sendResponseHeaders(response, endOfStream: false)
            response = entry.stream.responseHeaders
        }
        func setCounts(_ requests: Int, _ responses: Int) {
            for entry in streams {
                entry.stream.properties =
                    PropertyNode.map(entry.stream.properties).merged(
                        with: .map([
                            PropertyEntry(
                                "filter_state",
                                .map([
                                    PropertyEntry("envoy.filters.http.grpc_stats", .string("\(requests),\(responses)"))
                                ]))
                        ])
                    ).entriesForTest
                entry.stream.context?.streamProperties = .map(entry.stream.properties)
            }
        }
        func check(_ requests: String, _ responses: String) {
            for (side, proxy) in [("client", "client"), ("server", "server")] {
                let text = runner.prometheus().first { $0.proxy == proxy }!.text.split(separator: "\n").map(String.init)
                for (file, family, value) in [
                    ("request_messages", "istio_request_messages_total", requests),
                    ("response_messages", "istio_response_messages_total", responses),
                ] {
                    let expected = StatsGoldenTests.expectedLines(
                        "\(side)_\(file).yaml.tmpl",
                        vars: ["RequestMessages": value, "ResponseMessages": value])
                    #expect(text.filter { $0.hasPrefix(family + "{") } == expected, "\(side) \(file) = \(value)")
                }
            }
        }
        setCounts(3, 13)
        for proxy in runner.proxies { proxy.proxy.advanceClock(byMilliseconds: 1000) }
        check("3", "13")
        setCounts(8, 27)
        for entry in streams { entry.stream.sendResponseTrailers([HeaderPair("grpc-status", "0")]) }
        for entry in streams { entry.stream.complete() }
        check("8", "27")
    }
}

extension PropertyNode {
    var entriesForTest: [PropertyEntry] {
        if case let .map(entries) = self { return entries }
        return []
    }
}
