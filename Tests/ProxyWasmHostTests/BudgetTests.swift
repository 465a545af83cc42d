import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// Hardware-independent performance budgets, checked in CI: module sizes and
/// wasm operators (WasmKit fuel) per request. Limits live in
/// Tests/Fixtures/budgets.json; raising one is a deliberate, reviewed change.
@Suite("Performance budgets")
struct BudgetTests {
    struct Budget: Decodable {
        let module_bytes: Int
        let largest_function_bytes: Int
        let operators_per_request: [String: UInt64]
    }

    static let budgets: [String: Budget] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/budgets.json")
        return try! JSONDecoder().decode([String: Budget].self, from: FileManager.default.contents(atPath: url.path)!)
    }()

    @Test(arguments: ["header_stamp", "callout_check", "metadata_exchange", "stats", "telemetry"])
    func moduleSizeStaysWithinBudget(_ module: String) throws {
        let size = try BuiltModules.bytes(module).count
        let budget = try #require(Self.budgets[module]).module_bytes
        #expect(size <= budget, "\(module).wasm is \(size) bytes, budget \(budget)")
    }

    /// The largest function sets V8's compile-memory peak, which Envoy keeps as
    /// resident memory (`LargestFunction`): the build keeps big functions apart.
    @Test(arguments: ["header_stamp", "callout_check", "metadata_exchange", "stats", "telemetry"])
    func largestFunctionStaysWithinBudget(_ module: String) throws {
        let largest = try #require(try LargestFunction.of(BuiltModules.bytes(module)))
        let budget = try #require(Self.budgets[module]).largest_function_bytes
        print("\(module): largest function #\(largest.index), \(largest.bytes) bytes (budget \(budget))")
        #expect(largest.bytes <= budget, "\(module).wasm: function #\(largest.index) is \(largest.bytes) bytes, budget \(budget)")
    }

    /// `module` started on a sidecar with Istio's client node metadata, as `direction`'s listener.
    static func sidecar(module: String, direction: TrafficDirection, rootID: String, configuration: String = "") throws
        -> (Proxy, PluginVM, WasmKitGuest, UInt32)
    {
        let proxy = Sidecar.proxy(
            "budget", nodeID: "sidecar~10.0.0.1~productpage-v1-84975bc778-pxz2w.default~default.svc.cluster.local",
            metadata: "client_node_metadata.rendered.json", direction: direction)
        let (vm, guest) = try Sidecar.load(module, on: proxy, vmID: "budget")
        let root = try vm.startPlugin(PluginConfiguration(name: "budget", rootID: rootID, configuration: Array(configuration.utf8)))
        return (proxy, vm, guest, root)
    }

    /// Operators for one request after warm-up, through `direction`'s side.
    static func operatorsPerRequest(
        module: String, direction: TrafficDirection, peerHeaders: Bool,
        rootID: String = "budget", configuration: String = ""
    ) throws -> UInt64 {
        let (_, vm, guest, root) = try Self.sidecar(module: module, direction: direction, rootID: rootID, configuration: configuration)
        let peer =
            peerHeaders
            ? [
                HeaderPair("x-envoy-peer-metadata-id", "sidecar~10.0.0.2~ratings-v1.default~default.svc.cluster.local"),
                HeaderPair("x-envoy-peer-metadata", IstioTestdata.exchangeVector("server", "header_b64")),
            ] : []
        let peerNode = try IstioTestdata.serverPeerNode()
        func request() {
            let state = StreamState()
            state.filterState["wasm.upstream_peer_id"] = Array("server".utf8)
            state.filterState["wasm.upstream_peer"] = peerNode
            state.filterState["wasm.downstream_peer_id"] = Array("client".utf8)
            state.filterState["wasm.downstream_peer"] = peerNode
            let stream = HttpStream(
                vm: vm, root: root,
                properties: [
                    PropertyEntry(
                        "xds",
                        .map([
                            PropertyEntry(
                                "cluster_metadata",
                                .map([
                                    PropertyEntry(
                                        "filter_metadata",
                                        .map([
                                            PropertyEntry(
                                                "istio",
                                                .map([
                                                    PropertyEntry(
                                                        "services",
                                                        .list([
                                                            .map([
                                                                PropertyEntry("name", .string("ratings")),
                                                                PropertyEntry("host", .string("ratings.default.svc.cluster.local")),
                                                            ])
                                                        ]))
                                                ]))
                                        ]))
                                ]))
                        ]))
                ],
                streamState: state)
            stream.sendRequestHeaders(
                [
                    HeaderPair(":method", "GET"), HeaderPair(":path", "/reviews/1"),
                    HeaderPair(":authority", "reviews:9080"),
                ] + (direction == .inbound ? peer : []))
            stream.sendResponseHeaders([HeaderPair(":status", "200")] + (direction == .outbound ? peer : []))
            stream.complete()
        }
        for _ in 0..<3 { request() }
        // The same accounting as `proxy-wasm-host run --cost` (CostReport).
        let before = guest.costs
        request()
        #expect(vm.failure == nil)
        return guest.costs.reduce(0) { $0 + $1.value.since(before[$1.key]).operators }
    }

    @Test(arguments: [("outbound", TrafficDirection.outbound), ("inbound", TrafficDirection.inbound)])
    func metadataExchangeOperatorsPerRequestStayWithinBudget(_ name: String, _ direction: TrafficDirection) throws {
        let operators = try Self.operatorsPerRequest(module: "metadata_exchange", direction: direction, peerHeaders: true)
        let budget = try #require(Self.budgets["metadata_exchange"]?.operators_per_request[name])
        print("metadata_exchange \(name): \(operators) wasm operators per request (budget \(budget))")
        #expect(operators <= budget, "\(name): \(operators) operators per request, budget \(budget)")
    }

    static let customDimensions =
        #"{"metrics":[{"dimensions":{"configurable_metric_a":"(request.host.startsWith('127.0.0.1') ? 'localhost:' : request.host) + string(upstream_peer_id)","configurable_metric_b":"request.protocol"}}]}"#

    @Test(arguments: [
        ("outbound", TrafficDirection.outbound, false), ("inbound", TrafficDirection.inbound, false),
        ("outbound_custom_dimensions", TrafficDirection.outbound, true),
        ("inbound_custom_dimensions", TrafficDirection.inbound, true),
    ])
    func statsOperatorsPerRequestStayWithinBudget(_ name: String, _ direction: TrafficDirection, _ custom: Bool) throws {
        let operators = try Self.operatorsPerRequest(
            module: "stats", direction: direction, peerHeaders: false,
            rootID: direction == .outbound ? "stats_outbound" : "stats_inbound",
            configuration: custom ? Self.customDimensions : "")
        let budget = try #require(Self.budgets["stats"]?.operators_per_request[name])
        print("stats \(name): \(operators) wasm operators per request (budget \(budget))")
        #expect(operators <= budget, "\(name): \(operators) operators per request, budget \(budget)")
    }

    /// Operators one side spends on a warm TCP connection: metadata exchange
    /// both ways through a client and a server sidecar, a request and a
    /// response, then close. `side` selects whose cost is returned.
    static func metadataExchangeOperatorsPerConnection(outbound: Bool) throws -> UInt64 {
        let client = try ExchangeSidecar(id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound)
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        func connection() {
            let (clientConnection, serverConnection) = ExchangeSidecar.openConnections(client, server)
            clientConnection.downstreamData(Array("request".utf8))
            serverConnection.downstreamData(clientConnection.forwardedUpstream)
            serverConnection.upstreamData(Array("response".utf8))
            clientConnection.upstreamData(serverConnection.forwardedDownstream)
            #expect(clientConnection.forwardedDownstream == Array("response".utf8))
            clientConnection.close()
            serverConnection.close()
        }
        for _ in 0..<3 { connection() }
        let guest = try #require((outbound ? client : server).vm.guest as? WasmKitGuest)
        let before = guest.costs
        connection()
        #expect(client.noFailures && server.noFailures)
        return guest.costs.reduce(0) { $0 + $1.value.since(before[$1.key]).operators }
    }

    /// Operators stats.wasm spends on a warm TCP connection whose peer
    /// metadata exchange decided: data both ways, then close.
    static func statsOperatorsPerConnection(direction: TrafficDirection) throws -> UInt64 {
        let (proxy, vm, guest, root) = try Self.sidecar(
            module: "stats", direction: direction,
            rootID: direction == .outbound ? "stats_outbound" : "stats_inbound")
        let peerNode = try IstioTestdata.serverPeerNode()
        func connection() {
            let state = StreamState()
            let side = direction == .outbound ? "upstream" : "downstream"
            state.filterState["wasm.\(side)_peer_id"] = Array("peer".utf8)
            state.filterState["wasm.\(side)_peer"] = peerNode
            let tcp = TcpConnection(vm: vm, root: root, streamState: state)
            tcp.open()
            tcp.downstreamData(Array("request".utf8))
            tcp.upstreamData(Array("response".utf8))
            tcp.close()
        }
        for _ in 0..<3 { connection() }
        let before = guest.costs
        connection()
        #expect(vm.failure == nil)
        #expect(proxy.stats.stats.filter { $0.name.hasSuffix("istio_tcp_connections_opened_total") }.map(\.value).reduce(0, +) == 4)
        return guest.costs.reduce(0) { $0 + $1.value.since(before[$1.key]).operators }
    }

    @Test(arguments: [("outbound", true), ("inbound", false)])
    func metadataExchangeOperatorsPerConnectionStayWithinBudget(_ name: String, _ outbound: Bool) throws {
        let operators = try Self.metadataExchangeOperatorsPerConnection(outbound: outbound)
        let budget = try #require(Self.budgets["metadata_exchange"]?.operators_per_request["tcp_\(name)"])
        print("metadata_exchange tcp_\(name): \(operators) wasm operators per connection (budget \(budget))")
        #expect(operators <= budget, "tcp_\(name): \(operators) operators per connection, budget \(budget)")
    }

    @Test(arguments: [("outbound", TrafficDirection.outbound), ("inbound", TrafficDirection.inbound)])
    func statsOperatorsPerConnectionStayWithinBudget(_ name: String, _ direction: TrafficDirection) throws {
        let operators = try Self.statsOperatorsPerConnection(direction: direction)
        let budget = try #require(Self.budgets["stats"]?.operators_per_request["tcp_\(name)"])
        print("stats tcp_\(name): \(operators) wasm operators per connection (budget \(budget))")
        #expect(operators <= budget, "tcp_\(name): \(operators) operators per connection, budget \(budget)")
    }
}
