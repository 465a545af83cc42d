import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing
import Yams

/// stats.wasm + metadata_exchange.wasm on a client and a server sidecar in the
/// host, compared with Istio's own expected series (istio/proxy 1.12.0
/// testdata/metric), label for label and value for value.
@Suite("stats.wasm golden scenarios")
struct StatsGoldenTests {
    func series(_ runner: ScenarioRunner, _ proxy: String, _ family: String) -> [String] {
        let text = runner.prometheus().first { $0.proxy == proxy }!.text
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(family + "{") }
    }

    @Test(arguments: Engine.allCases)
    func clientAndServerRequestTotalsMatchIstiosExpectedFiles(engine: Engine) throws {
        let runner = try GoldenMesh.http(
            requests: 10, clientConfig: IstioTestdata.clientConfiguration, serverConfig: IstioTestdata.serverConfiguration, engine: engine)
        let vars = ["RequestCount": "10", "GrpcResponseStatus": ""]
        #expect(series(runner, "client", "istio_requests_total") == IstioTestdata.expectedLines("client_request_total.yaml.tmpl", vars: vars))
        #expect(series(runner, "server", "istio_requests_total") == IstioTestdata.expectedLines("server_request_total.yaml.tmpl", vars: vars))
    }

    @Test func hostHeaderFallbackWithoutServiceMetadata() throws {
        let runner = try GoldenMesh.http(
            requests: 10, clientConfig: IstioTestdata.clientConfiguration, serverConfig: IstioTestdata.serverConfiguration,
            elideServerMetadata: true)
        let expected = IstioTestdata.expectedLines("host_header_fallback.yaml.tmpl", vars: ["RequestCount": "10", "ClientPort": "20000"])
        #expect(series(runner, "client", "istio_requests_total") == expected)
    }

    @Test func disabledHostHeaderFallbackMatchesBothSides() throws {
        let runner = try GoldenMesh.http(
            requests: 10, clientConfig: IstioTestdata.statsConfiguration("client_config_disable_header_fallback.yaml"),
            serverConfig: IstioTestdata.statsConfiguration("server_config_disable_header_fallback.yaml"),
            elideServerMetadata: true)
        let vars = ["RequestCount": "10"]
        #expect(
            series(runner, "client", "istio_requests_total")
                == IstioTestdata.expectedLines("client_disable_host_header_fallback.yaml.tmpl", vars: vars))
        #expect(
            series(runner, "server", "istio_requests_total")
                == IstioTestdata.expectedLines("server_disable_host_header_fallback.yaml.tmpl", vars: vars))
    }

    /// Istio's TCP e2e: 10 mTLS connections through client and server sidecars,
    /// each sending `world\n` and receiving `hello world\n`.
    @Test(arguments: Engine.allCases)
    func tcpMetricsMatchIstiosExpectedFiles(engine: Engine) throws {
        let runner = try GoldenMesh.tcp(engine: engine)
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
                let expected = IstioTestdata.expectedLines(
                    "tcp_\(side)_\(file).yaml.tmpl", vars: ["ConnectionCount": "10", "ReceivedBytes": "60", "SentBytes": "120"])
                #expect(series(runner, proxy, family) == expected, "\(side) \(file)")
            }
        }
    }

    @Test func istioBuildMatches() throws {
        let runner = try GoldenMesh.http(
            requests: 1, clientConfig: IstioTestdata.serverConfiguration, serverConfig: IstioTestdata.serverConfiguration)
        #expect(series(runner, "client", "istio_build") == IstioTestdata.expectedLines("istio_build.yaml", vars: [:]))
    }
}

/// Periodic TCP reporting: nothing while metadata exchange is undecided (for
/// up to one reporting interval, `StatsTcpWithoutPeerTests`), deltas afterwards.
@Suite("stats.wasm TCP ticks")
struct StatsTickTests {
    @Test func connectionsReportOnTicksOnceThePeerIsDecided() throws {
        let proxy = Sidecar.proxy("server", metadata: "server_node_metadata.rendered.json")
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
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
            let text = GoTemplate.render(IstioTestdata.text("stats/\(file)"), variables: [:])
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
        parsed.proxies[0].metadata = IstioTestdata.nodeMetadata("client_node_metadata.rendered.json")
        parsed.proxies[1].metadata = IstioTestdata.nodeMetadata("server_node_metadata.rendered.json")
        parsed.proxies[0].statsTags = .rules(IstioTestdata.statsTags())
        parsed.proxies[1].statsTags = .rules(IstioTestdata.statsTags())
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
                    let expected = IstioTestdata.expectedLines(
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
