import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestFixtures
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// metadata_exchange.wasm in the host: Istio's HTTP rules, the TCP prefix
/// protocol, the peer cache, both property dialects and hostile peers.
@Suite("metadata_exchange.wasm in the host")
struct MetadataExchangeTests {
    @Test func outboundRequestsCarryOurMetadataByteForByte() throws {
        let client = try ExchangeSidecar(id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound)
        let stream = client.stream([])
        #expect(ExchangeSidecar.header(stream.requestHeaders, "x-envoy-peer-metadata") == IstioTestdata.exchangeVector("client", "header_b64"))
        #expect(ExchangeSidecar.header(stream.requestHeaders, "x-envoy-peer-metadata-id") == "client")
        #expect(client.noFailures)
    }

    @Test func inboundAnswersFollowIstiosTable() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let none = server.stream([])
        #expect(ExchangeSidecar.header(none.responseHeaders, "x-envoy-peer-metadata") == nil)
        #expect(ExchangeSidecar.header(none.responseHeaders, "x-envoy-peer-metadata-id") == nil)
        #expect(ExchangeSidecar.header(none.requestHeaders, "x-envoy-peer-metadata") == nil)  // never forwarded to the app
        let onlyID = server.stream([HeaderPair("x-envoy-peer-metadata-id", "client")])
        #expect(ExchangeSidecar.header(onlyID.responseHeaders, "x-envoy-peer-metadata-id") == "server")
        #expect(ExchangeSidecar.header(onlyID.responseHeaders, "x-envoy-peer-metadata") == nil)
        #expect(onlyID.context?.filterState["wasm.downstream_peer_id"] == Array("client".utf8))
        let both = server.stream([
            HeaderPair("x-envoy-peer-metadata-id", "client"),
            HeaderPair("x-envoy-peer-metadata", IstioTestdata.exchangeVector("client", "header_b64")),
        ])
        #expect(ExchangeSidecar.header(both.responseHeaders, "x-envoy-peer-metadata") == IstioTestdata.exchangeVector("server", "header_b64"))
        #expect(ExchangeSidecar.header(both.responseHeaders, "x-envoy-peer-metadata-id") == "server")
        #expect(ExchangeSidecar.header(both.requestHeaders, "x-envoy-peer-metadata-id") == nil)  // stripped before the app
        #expect(try ExchangeSidecar.peer(both, "downstream_peer")?.name == "productpage-v1-84975bc778-pxz2w")
        #expect(server.noFailures)
    }

    @Test(arguments: PropertyDialect.allCases)
    func aMeshHopLeavesEachSideWithTheOthersIdentity(_ dialect: PropertyDialect) throws {
        let module = BuiltModules.directory.appendingPathComponent("metadata_exchange.wasm").path
        let yaml = """
            dialect: \(dialect.rawValue)
            proxies:
              - {name: client, node: {id: client}, listener_direction: outbound, plugins: [{name: mx, module: \(module)}]}
              - {name: server, node: {id: server}, listener_direction: inbound, plugins: [{name: mx, module: \(module)}]}
            traffic:
              - http: {through: [client, server]}
            """
        var scenario = try Scenario.load(yaml: yaml, file: "mesh.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        scenario.proxies[0].metadata = IstioTestdata.nodeMetadata("client_node_metadata.rendered.json")
        scenario.proxies[1].metadata = IstioTestdata.nodeMetadata("server_node_metadata.rendered.json")
        let runner = try ScenarioRunner(scenario: scenario)
        let clientStream = HttpStream(vm: runner.proxies[0].plugins[0].vm, root: runner.proxies[0].plugins[0].root)
        let serverStream = HttpStream(vm: runner.proxies[1].plugins[0].vm, root: runner.proxies[1].plugins[0].root)
        clientStream.sendRequestHeaders([HeaderPair(":path", "/reviews")])
        serverStream.sendRequestHeaders(clientStream.requestHeaders)
        serverStream.sendResponseHeaders([HeaderPair(":status", "200")])
        clientStream.sendResponseHeaders(serverStream.responseHeaders)
        serverStream.complete()
        clientStream.complete()
        let serverSeen = try #require(try ExchangeSidecar.peer(serverStream, "downstream_peer"))
        let clientSeen = try #require(try ExchangeSidecar.peer(clientStream, "upstream_peer"))
        #expect(serverSeen.workloadName == "productpage-v1" && serverSeen.label("app") == "productpage")
        #expect(clientSeen.workloadName == "ratings-v1" && clientSeen.label("app") == "ratings")
        #expect(serverStream.context?.filterState["wasm.downstream_peer_id"] == Array("client".utf8))
        #expect(clientStream.context?.filterState["wasm.upstream_peer_id"] == Array("server".utf8))
        // Nothing leaks to the application or back to the client app.
        #expect(ExchangeSidecar.header(serverStream.requestHeaders, "x-envoy-peer-metadata") == nil)
        #expect(ExchangeSidecar.header(clientStream.responseHeaders, "x-envoy-peer-metadata") == nil)
        #expect(ExchangeSidecar.header(clientStream.responseHeaders, "x-envoy-peer-metadata-id") == nil)
    }

    /// The cache is keyed by the metadata bytes (not Istio's first-wins per
    /// id), so with it on or off every request gets the metadata it carried.
    @Test func theCacheNeverChangesWhatARequestCarriedAndCanBeDisabled() throws {
        let minimal = IstioTestdata.exchangeVector("minimal", "header_b64")
        let client = IstioTestdata.exchangeVector("client", "header_b64")
        for size in [0, 500] {
            let server = try ExchangeSidecar(
                id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound,
                configuration: #"{"max_peer_cache_size": "\#(size)"}"#)
            _ = server.stream([HeaderPair("x-envoy-peer-metadata-id", "peer"), HeaderPair("x-envoy-peer-metadata", minimal)])
            let second = server.stream([HeaderPair("x-envoy-peer-metadata-id", "peer"), HeaderPair("x-envoy-peer-metadata", client)])
            let seen = try ExchangeSidecar.peer(second, "downstream_peer")
            #expect(seen?.workloadName == "productpage-v1")
            let third = server.stream([HeaderPair("x-envoy-peer-metadata-id", "peer"), HeaderPair("x-envoy-peer-metadata", minimal)])
            #expect(try ExchangeSidecar.peer(third, "downstream_peer")?.workloadName == "w")
        }
    }

    @Test(arguments: PropertyDialect.allCases)
    func externalDestinationsGetNoMetadataWhenConfigured(_ dialect: PropertyDialect) throws {
        let client = try ExchangeSidecar(
            id: "client", metadataFile: "minimal_node_metadata.json", direction: .outbound,
            dialect: dialect, configuration: #"{"skip_external_clusters": true}"#)
        func send(_ cluster: PropertyEntry) -> HttpStream {
            let stream = HttpStream(vm: client.vm, root: client.root, properties: [PropertyEntry("xds", .map([cluster]))])
            stream.sendRequestHeaders([HeaderPair(":path", "/")])
            stream.complete()
            return stream
        }
        let external = send(
            PropertyEntry(
                "cluster_metadata",
                .map([
                    PropertyEntry(
                        "filter_metadata",
                        .map([
                            PropertyEntry("istio", .map([PropertyEntry("external", .bool(true))]))
                        ]))
                ])))
        let passthrough = send(PropertyEntry("cluster_name", .string("PassthroughCluster")))
        let mesh = send(PropertyEntry("cluster_name", .string("outbound|9080||reviews.default.svc.cluster.local")))
        #expect(ExchangeSidecar.header(external.requestHeaders, "x-envoy-peer-metadata") == nil)
        #expect(ExchangeSidecar.header(passthrough.requestHeaders, "x-envoy-peer-metadata-id") == nil)
        #expect(ExchangeSidecar.header(mesh.requestHeaders, "x-envoy-peer-metadata-id") == "client")
    }

    static let hostileHeaders: [(String, String)] = [
        ("base64 garbage", "!!!not-base64!!!"),
        ("truncated protobuf", String(IstioTestdata.exchangeVector("client", "header_b64").prefix(40))),
        ("wrong wire type", "CAE="),  // field 1, varint
        ("1 MB header", String(repeating: "A", count: 1 << 20)),
    ]

    @Test(arguments: hostileHeaders.indices)
    func hostileMetadataIsIgnoredAndTheRequestFlows(_ index: Int) throws {
        let (name, value) = Self.hostileHeaders[index]
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let first = server.stream([HeaderPair("x-envoy-peer-metadata-id", "bad"), HeaderPair("x-envoy-peer-metadata", value)])
        let second = server.stream([HeaderPair("x-envoy-peer-metadata-id", "bad2"), HeaderPair("x-envoy-peer-metadata", value)])
        #expect(server.noFailures, "\(name)")
        #expect(first.localResponse == nil && first.context?.filterState["wasm.downstream_peer"] == nil)
        #expect(second.context?.filterState["wasm.downstream_peer"] == nil)
        #expect(ExchangeSidecar.header(first.requestHeaders, "x-envoy-peer-metadata") == nil)  // still stripped
        let debugLines = server.proxy.logs.filter { $0.level == .debug && $0.message.hasPrefix("metadata_exchange:") }
        #expect(debugLines.count == 1, "\(name): \(debugLines.map(\.message))")
    }

    @Test func deeplyNestedStructsAreRefused() throws {
        var value = StructValue.string("x")
        for _ in 0..<64 { value = .structure(ProtoStruct([("k", value)])) }
        let header = String(decoding: Base64.encode(StructCodec.encode(ProtoStruct([("NAME", value)]))), as: UTF8.self)
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        let stream = server.stream([HeaderPair("x-envoy-peer-metadata", header)])
        #expect(server.noFailures && stream.context?.filterState["wasm.downstream_peer"] == nil)
    }

    static let badConfigurations: [(String, String)] = [
        (#"{"max_peer_cache_size": -1}"#, #"field "max_peer_cache_size" must be an integer from 0 to 1000000, found -1"#),
        (#"{"max_peer_cache_size": "ten"}"#, #"field "max_peer_cache_size" must be an integer from 0 to 1000000, found ten"#),
        (#"{"max_peer_cache_size": true}"#, #"field "max_peer_cache_size" must be a number, found boolean"#),
        (#"{"allow_plaintext_tcp": 1}"#, #"field "allow_plaintext_tcp" must be true or false, found number"#),
        (
            #"{"cache": 1}"#,
            #"unknown field "cache" (known: max_peer_cache_size, allow_plaintext_tcp, exchange_instance_ips, skip_external_clusters)"#
        ),
        ("nope", "invalid JSON at byte 0: invalid literal"),
        ("[1]", "expected a JSON object, found array"),
    ]

    @Test(arguments: badConfigurations.indices)
    func invalidConfigurationIsRefusedWithAPreciseLine(_ index: Int) throws {
        let (json, reason) = Self.badConfigurations[index]
        let proxy = Proxy(name: "s")
        let vm = PluginVM(proxy: proxy, vmID: "mx")
        _ = try WasmKitGuest.load(try BuiltModules.bytes("metadata_exchange"), into: vm)
        #expect(throws: PluginStartError.self) {
            try vm.startPlugin(PluginConfiguration(name: "mx", configuration: Array(json.utf8)))
        }
        #expect(proxy.logs.last?.level == .error)
        #expect(proxy.logs.last?.message == "metadata_exchange: invalid configuration: " + reason)
        #expect(vm.failure == nil)  // refused, not trapped
    }

    // MARK: TCP

    /// A client and a server sidecar; `feed` delivers bytes in chunks of the given size.
    func tcpPair(serverMTLS: Bool = true, configuration: String = "") throws -> (
        client: TcpConnection, server: TcpConnection, ExchangeSidecar, ExchangeSidecar
    ) {
        let client = try ExchangeSidecar(
            id: "client", metadataFile: "client_node_metadata.rendered.json", direction: .outbound, configuration: configuration)
        let server = try ExchangeSidecar(
            id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound, configuration: configuration)
        let (clientConnection, serverConnection) = ExchangeSidecar.openConnections(client, server, serverMTLS: serverMTLS)
        return (clientConnection, serverConnection, client, server)
    }

    func deliver(_ bytes: [UInt8], chunk: Int, _ send: ([UInt8]) -> Void) {
        var index = 0
        while index < bytes.count {
            send(Array(bytes[index..<min(bytes.count, index + chunk)]))
            index += chunk
        }
    }

    @Test(arguments: [1, 3, 7, 4096])
    func thePrefixProtocolSurvivesAnySplitInBothDirections(_ chunk: Int) throws {
        let (client, server, clientSidecar, serverSidecar) = try tcpPair()
        let request = Array("PING request payload".utf8)
        let response = Array("PONG response payload".utf8)
        client.downstreamData(request)
        let onTheWire = client.forwardedUpstream
        #expect(onTheWire.count == request.count + Array(hexBytes(IstioTestdata.exchangeVector("client", "tcp_prefix_hex"))).count)
        #expect(Array(onTheWire.prefix(4)) == [0x3D, 0x23, 0x04, 0x67])
        deliver(onTheWire, chunk: chunk) { server.downstreamData($0) }
        #expect(server.forwardedUpstream == request)  // the app sees exactly the client's bytes
        server.upstreamData(response)
        deliver(server.forwardedDownstream, chunk: chunk) { client.upstreamData($0) }
        #expect(client.forwardedDownstream == response)
        client.close()
        server.close()
        let serverPeer = try FlatNodeCodec.decode(try #require(server.context?.filterState["wasm.downstream_peer"]))
        let clientPeer = try FlatNodeCodec.decode(try #require(client.context?.filterState["wasm.upstream_peer"]))
        #expect(serverPeer.workloadName == "productpage-v1")
        #expect(clientPeer.namespace == "default" && clientPeer.name != nil)
        #expect(server.context?.filterState["wasm.downstream_peer_id"] == Array("client".utf8))
        #expect(client.context?.filterState["wasm.upstream_peer_id"] == Array("server".utf8))
        #expect(clientSidecar.proxy.stats.stat(named: "metadata_exchange.metadata_added")?.value == 1)
        #expect(serverSidecar.proxy.stats.stat(named: "metadata_exchange.alpn_protocol_found")?.value == 1)
        #expect(clientSidecar.noFailures && serverSidecar.noFailures)
    }

    @Test func thePrefixMatchesTheComputedVector() throws {
        let (client, _, _, _) = try tcpPair()
        client.downstreamData(Array("x".utf8))
        #expect(Array(client.forwardedUpstream.dropLast()) == hexBytes(IstioTestdata.exchangeVector("client", "tcp_prefix_hex")))
    }

    @Test func aPeerWithoutTheProtocolKeepsItsBytesAndIsUnknown() throws {
        let (_, server, _, _) = try tcpPair()
        let plain = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        server.downstreamData(plain)
        #expect(server.forwardedUpstream == plain)
        #expect(server.context?.filterState["wasm.downstream_peer_id"] == Array("envoy.wasm.metadata_exchange.peer_unknown".utf8))
        // Since the peer does not speak the protocol, we do not write ours either.
        server.upstreamData(Array("reply".utf8))
        #expect(server.forwardedDownstream == Array("reply".utf8))
    }

    @Test func aLyingLengthIsRejectedWithoutLosingBytes() throws {
        let (_, server, _, _) = try tcpPair()
        let lie: [UInt8] = [0x3D, 0x23, 0x04, 0x67, 0x7F, 0x00, 0x00, 0x00] + Array("data".utf8)
        server.downstreamData(lie)
        #expect(server.forwardedUpstream == lie)
        #expect(server.context?.filterState["wasm.downstream_peer_id"] == Array("envoy.wasm.metadata_exchange.peer_unknown".utf8))
    }

    @Test func endOfStreamWhileWaitingReleasesTheHeldBytes() throws {
        let (_, server, _, _) = try tcpPair()
        let partial: [UInt8] = [0x3D, 0x23, 0x04, 0x67, 0x00, 0x00, 0x01]
        #expect(server.downstreamData(partial) == .stopIteration)
        #expect(server.forwardedUpstream.isEmpty)
        server.downstreamData([], endOfStream: true)
        #expect(server.forwardedUpstream == partial)
    }

    @Test func plaintextInboundConnectionsNeedTheOptIn() throws {
        let (client, server, _, _) = try tcpPair(serverMTLS: false)
        client.downstreamData(Array("hi".utf8))
        server.downstreamData(client.forwardedUpstream)
        // Without mTLS the server does not take part: the prefix reaches the app untouched.
        #expect(server.forwardedUpstream == client.forwardedUpstream)
        let (optClient, optServer, _, _) = try tcpPair(serverMTLS: false, configuration: #"{"allow_plaintext_tcp": true}"#)
        optClient.downstreamData(Array("hi".utf8))
        optServer.downstreamData(optClient.forwardedUpstream)
        #expect(optServer.forwardedUpstream == Array("hi".utf8))
    }
}
