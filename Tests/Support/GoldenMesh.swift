import Foundation
import ProxyWasmHost
import ProxyWasmTools

/// The two-sidecar meshes of Istio's e2e tests, run in the host: a client and a
/// server sidecar with metadata_exchange and stats, Istio's node metadata and
/// its test bootstrap's tag rules.
public enum GoldenMesh {
    /// A plugin of a golden mesh failed or made a call the host does not implement.
    public struct PluginFailed: Error, CustomStringConvertible {
        public let plugin: String
        public let failure: String?
        public let unimplemented: [String]
        public var description: String { "\(plugin): failure \(failure ?? "none"), unimplemented calls \(unimplemented)" }
    }

    /// The modules a golden scenario runs: ours, or (`make fidelity`) Istio 1.12's own.
    public struct Modules {
        public var metadataExchange: String
        public var stats: String
        /// Istio's metadata exchange registers no root id and reads a JSON object.
        public var exchangeRootID: String? = nil
        public var dialect = "current"

        public static var ours: Modules {
            let wasm = BuiltModules.directory.path
            return Modules(metadataExchange: "\(wasm)/metadata_exchange.wasm", stats: "\(wasm)/stats.wasm")
        }

        public static func istio(_ directory: String) -> Modules {
            Modules(
                metadataExchange: "\(directory)/metadata-exchange-filter.wasm", stats: "\(directory)/stats-filter.wasm",
                exchangeRootID: "", dialect: "legacy")
        }
    }

    /// Istio's HTTP e2e mesh, `requests` requests from client to server with the
    /// given stats configurations; throws `PluginFailed` if any plugin failed.
    public static func http(
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
        let runner = try runClientServer(yaml, file: "golden.yaml", engine: engine)
        for proxy in runner.proxies {
            for plugin in proxy.plugins where plugin.vm.failure != nil || !plugin.vm.unimplementedCalls.isEmpty {
                throw PluginFailed(
                    plugin: "\(proxy.spec.name)/\(plugin.spec.name)", failure: plugin.vm.failure.map { "\($0)" },
                    unimplemented: plugin.vm.unimplementedCalls)
            }
        }
        return runner
    }

    /// The TCP mesh of Istio's e2e test, run: with our modules, or with
    /// `statsModule` (Istio's own, `make fidelity`) beside our TCP exchange
    /// (Istio 1.12's TCP exchange is native Envoy code, not a module).
    public static func tcp(engine: Engine = .wasm, statsModule: String? = nil, dialect: String = "current") throws -> ScenarioRunner {
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
        return try runClientServer(yaml, file: "tcp.yaml", engine: engine)
    }

    /// Runs a client-then-server scenario as Istio's e2e tests set it up: the
    /// two proxies get Istio's rendered node metadata and its stats tag rules.
    static func runClientServer(_ yaml: String, file: String, engine: Engine) throws -> ScenarioRunner {
        var parsed = try Scenario.load(yaml: yaml, file: file, baseDirectory: URL(fileURLWithPath: "/"))
        for (index, metadataFile) in ["client_node_metadata.rendered.json", "server_node_metadata.rendered.json"].enumerated() {
            parsed.proxies[index].metadata = IstioTestdata.nodeMetadata(metadataFile)
            parsed.proxies[index].statsTags = .rules(IstioTestdata.statsTags())
        }
        let runner = try ScenarioRunner(scenario: parsed, loader: engine.loader)
        runner.run()
        return runner
    }
}
