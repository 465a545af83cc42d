import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// The stats plugin's `reporter` setting: a waypoint reports both of its
/// peers as Istio's own waypoint test expects, a gateway reports as the
/// source towards its upstream, through the real metadata_exchange.wasm and
/// stats.wasm on every hop.
@Suite("stats.wasm reporter roles")
struct StatsReporterRoleTests {
    static let masterTestdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/istio/proxy-master-86a72d0")

    /// A Prometheus series line's labels.
    static func labels(_ line: String) -> [String: String] {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") else { return [:] }
        var result: [String: String] = [:]
        var rest = line[line.index(after: open)..<close]
        while let equals = rest.firstIndex(of: "=") {
            let name = String(rest[..<equals])
            let valueStart = rest.index(equals, offsetBy: 2)
            guard let quote = rest[valueStart...].firstIndex(of: "\"") else { break }
            result[name] = String(rest[valueStart..<quote])
            rest = rest[rest.index(after: quote)...].drop { $0 == "," }
        }
        return result
    }

    /// The `istio_requests_total` series of `proxy`: labels and value.
    static func requestTotals(_ runner: ScenarioRunner, _ proxy: String) -> [(labels: [String: String], value: String)] {
        let text = runner.prometheus().first { $0.proxy == proxy }!.text
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("istio_requests_total{") }
            .map { (labels($0), String($0.split(separator: " ").last!)) }
    }

    static func run(_ yaml: String) throws -> ScenarioRunner {
        var scenario = try Scenario.load(yaml: yaml, file: "roles.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        scenario.proxies[0].metadata = IstioTestdata.nodeMetadata("client_node_metadata.rendered.json")
        for index in scenario.proxies.indices { scenario.proxies[index].statsTags = .rules(IstioTestdata.statsTags()) }
        let runner = try ScenarioRunner(scenario: scenario, loader: Engine.wasm.loader)
        runner.run()
        for proxy in runner.proxies {
            for plugin in proxy.plugins {
                #expect(plugin.vm.failure == nil && plugin.vm.unimplementedCalls.isEmpty, "\(proxy.spec.name)/\(plugin.spec.name)")
            }
        }
        return runner
    }

    static var wasm: String { BuiltModules.directory.path }

    static func plugins(stats rootID: String, configuration: String) -> String {
        """
            plugins:
              - {name: mx, module: \(wasm)/metadata_exchange.wasm, configuration: {max_peer_cache_size: 20}}
              - {name: stats, module: \(wasm)/stats.wasm, root_id: \(rootID), configuration: '\(configuration)'}
        """
    }

    /// Istio's `TestStatsServerWaypointProxy`: client sidecar -> waypoint ->
    /// server sidecar; the waypoint's series are Istio's expected file, label
    /// for label. The waypoint runs `stats_inbound` as Istio's test does: the
    /// setting, not the root id, makes it a waypoint.
    @Test func aWaypointReportsBothPeersAsIstiosWaypointTestExpects() throws {
        let services = "{istio: {services: [{host: server.default.svc.cluster.local, name: server, namespace: default}]}}"
        let runner = try Self.run(
            """
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                stream_properties: {xds: {cluster_name: waypoint-outbound, cluster_metadata: {filter_metadata: \(services)}}}
            \(Self.plugins(stats: "stats_outbound", configuration: "{}"))
              - name: waypoint
                node: {id: waypoint, metadata: {NAMESPACE: default, WORKLOAD_NAME: waypoint}}
                listener_direction: outbound
                stream_properties:
                  connection: {mtls: false}
                  upstream: {uri_san_peer_certificate: "spiffe://cluster.global/ns/default/sa/ratings"}
                  xds: {cluster_name: server-cluster, cluster_metadata: {filter_metadata: \(services)}}
            \(Self.plugins(stats: "stats_inbound", configuration: #"{"reporter": "SERVER_GATEWAY"}"#))
              - name: server
                node:
                  id: server
                  metadata:
                    NAMESPACE: default
                    WORKLOAD_NAME: ratings-v1
                    CLUSTER_ID: ratings-cluster
                    LABELS: {app: ratings, version: version-1, "service.istio.io/canonical-name": ratings, "service.istio.io/canonical-revision": version-1}
                listener_direction: inbound
                stream_properties: {connection: {mtls: false}}
            \(Self.plugins(stats: "stats_inbound", configuration: "{}"))
            traffic:
              - http:
                  through: [client, waypoint, server]
                  request: {headers: {":authority": "server"}}
                  response: {status: 200}
                  repeat: 10
            """)
        let template = try String(
            contentsOf: Self.masterTestdata.appendingPathComponent("metric/server_waypoint_proxy_request_total.yaml.tmpl"),
            encoding: .utf8)
        let rendered = GoTemplate.render(template, variables: ["RequestCount": "10", "GrpcResponseStatus": ""])
        let expected = Self.labels(Self.expectedLine(rendered))
        let waypoint = Self.requestTotals(runner, "waypoint")
        #expect(waypoint.count == 1)
        #expect(waypoint.first?.labels == expected)
        #expect(waypoint.first?.value == "10")
        // The waypoint does not hand the server's identity back: the client
        // reports its destination from the cluster it sent to.
        let client = Self.requestTotals(runner, "client")
        #expect(client.count == 1 && client.first?.labels["reporter"] == "source")
        #expect(client.first?.labels["destination_workload"] == "unknown")
        // The server sees the waypoint as its peer.
        let server = Self.requestTotals(runner, "server")
        #expect(server.first?.labels["source_workload"] == "waypoint" && server.first?.labels["reporter"] == "destination")
    }

    /// The expected file rendered as one `name{labels} value` line.
    static func expectedLine(_ rendered: String) -> String {
        var labels: [(String, String)] = []
        var pending: String?
        for line in rendered.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            func unquote(_ text: Substring) -> String {
                let value = text.trimmingCharacters(in: .whitespaces)
                return value.hasPrefix("\"") ? String(value.dropFirst().dropLast()) : value
            }
            if trimmed.hasPrefix("- name: ") {
                pending = unquote(trimmed.dropFirst(8))
            } else if trimmed.hasPrefix("value: "), let name = pending {
                labels.append((name, unquote(trimmed.dropFirst(7))))
                pending = nil
            }
        }
        return "istio_requests_total{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "} 0"
    }

    /// Client sidecar -> egress gateway -> external service: the gateway
    /// reports as the source (itself) towards the service entry its cluster
    /// names, with the namespace of that service entry, never its own; the
    /// client's Host header does not name a service; the client sidecar sees
    /// no peer behind the gateway.
    @Test func anEgressGatewayReportsTheExternalServiceItSendsTo() throws {
        let gatewayService =
            "{istio: {services: [{host: istio-egressgateway.istio-system.svc.cluster.local, name: istio-egressgateway, namespace: istio-system}]}}"
        let external = "{istio: {services: [{host: api.example.com, name: api.example.com, namespace: egress}]}}"
        let runner = try Self.run(
            """
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                stream_properties: {xds: {cluster_name: "outbound|443||istio-egressgateway.istio-system.svc.cluster.local", cluster_metadata: {filter_metadata: \(gatewayService)}}}
            \(Self.plugins(stats: "stats_outbound", configuration: "{}"))
              - name: egress
                node: {id: egress, metadata: {NAMESPACE: istio-system, WORKLOAD_NAME: istio-egressgateway, LABELS: {app: istio-egressgateway, istio: egressgateway}}}
                listener_direction: outbound
                stream_properties: {xds: {cluster_name: "outbound|443||api.example.com", cluster_metadata: {filter_metadata: \(external)}}}
            \(Self.plugins(stats: "stats_inbound", configuration: #"{"reporter": "GATEWAY"}"#))
            traffic:
              - http:
                  through: [client, egress]
                  request: {headers: {":authority": "api.example.com"}}
                  response: {status: 200}
                  repeat: 3
            """)
        let gateway = Self.requestTotals(runner, "egress")
        #expect(gateway.count == 1 && gateway.first?.value == "3")
        let labels = gateway.first?.labels ?? [:]
        #expect(labels["reporter"] == "source")
        #expect(labels["source_workload"] == "istio-egressgateway" && labels["source_workload_namespace"] == "istio-system")
        #expect(labels["source_app"] == "istio-egressgateway")
        #expect(labels["destination_service"] == "api.example.com" && labels["destination_service_name"] == "api.example.com")
        #expect(labels["destination_service_namespace"] == "egress")
        #expect(labels["destination_workload"] == "unknown" && labels["destination_workload_namespace"] == "unknown")
        let client = Self.requestTotals(runner, "client")
        #expect(client.count == 1 && client.first?.value == "3")
        #expect(client.first?.labels["source_workload"] == "productpage-v1")
        #expect(client.first?.labels["destination_service_name"] == "istio-egressgateway")
        #expect(client.first?.labels["destination_workload"] == "unknown")
    }

    /// A gateway's Host-header fallback is off unless configured: without a
    /// cluster service, an attacker's Host header is not a destination.
    @Test func aGatewayIgnoresTheHostHeaderUnlessConfiguredTo() throws {
        let gateway = try StatsSidecar(inbound: true, configuration: #"{"reporter": "GATEWAY"}"#)
        gateway.request(authority: Array("attacker.example".utf8))
        let name = try #require(gateway.proxy.stats.stats.first { $0.name.hasSuffix("istio_requests_total") }?.name)
        #expect(name.contains("reporter=.=source;.;") && name.contains("destination_service=.=unknown;.;"))
        #expect(name.contains("source_workload=.=ratings-v1;.;"))  // the gateway's own node

        let withFallback = try StatsSidecar(inbound: true, configuration: #"{"reporter": "GATEWAY", "disable_host_header_fallback": false}"#)
        withFallback.request(authority: Array("attacker.example".utf8))
        let named = try #require(withFallback.proxy.stats.stats.first { $0.name.hasSuffix("istio_requests_total") }?.name)
        #expect(named.contains("destination_service=.=attacker.example;.;"))
    }

    /// Explicit sidecar roles override the root id; Istio's enum numbers are accepted.
    @Test(arguments: [
        (#"{"reporter": "SERVER_SIDECAR"}"#, "destination"), (#"{"reporter": "CLIENT_SIDECAR"}"#, "source"),
        (#"{"reporter": 1}"#, "waypoint"), (#"{"reporter": "WAYPOINT"}"#, "waypoint"),
        (#"{"reporter": "UNSPECIFIED"}"#, "source"),
    ])
    func theSettingNamesTheReporter(configuration: String, reporter: String) throws {
        let sidecar = try StatsSidecar(inbound: false, configuration: configuration)
        sidecar.request()
        let name = try #require(sidecar.proxy.stats.stats.first { $0.name.hasSuffix("istio_requests_total") }?.name)
        #expect(name.contains("reporter=.=\(reporter);.;"), "\(name)")
    }

    @Test func anUnknownReporterRefusesTheConfigurationListingTheSupportedOnes() throws {
        #expect(throws: (any Error).self) { try StatsSidecar(configuration: #"{"reporter": "INGRESS"}"#) }
        let proxy = Sidecar.proxy("refused")
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        #expect(throws: (any Error).self) {
            try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_inbound", configuration: Array(#"{"reporter": "INGRESS"}"#.utf8)))
        }
        let logged = proxy.logs.map(\.message).joined(separator: "\n")
        #expect(
            logged.contains(
                "unknown reporter \"INGRESS\" (supported: UNSPECIFIED, CLIENT_SIDECAR, SERVER_SIDECAR, GATEWAY, SERVER_GATEWAY, WAYPOINT)"),
            "\(logged)")
    }
}
