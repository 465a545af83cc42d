import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// The fuzz corpora replayed through the real .wasm modules in the host:
/// libFuzzer (`make fuzz`) runs the decoders natively, where `Int` is 64
/// bits; here the same inputs meet the wasm32 build, as a peer or an
/// operator would send them. The seed corpus is `Tests/Fixtures/fuzz`; what
/// `make fuzz` found since is in `build/fuzz/corpus` and is replayed too.
@Suite("fuzz corpora through the wasm32 modules")
struct FuzzCorpusReplayTests {
    /// At most this many inputs per target and directory (sorted by name), to bound the run.
    static let limit = 150

    static func corpus(_ target: String, limit: Int = FuzzCorpusReplayTests.limit) -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var inputs: [[UInt8]] = []
        for directory in ["Tests/Fixtures/fuzz/\(target)", "build/fuzz/corpus/\(target)"] {
            let url = root.appendingPathComponent(directory)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { continue }
            for name in names.sorted().prefix(limit) {
                if let data = FileManager.default.contents(atPath: url.appendingPathComponent(name).path) { inputs.append([UInt8](data)) }
            }
        }
        return inputs
    }

    @Test func theSeedCorpusIsThere() {
        for target in ["TCPPrefix", "PeerMetadata", "FlatNode", "JSON", "Expression", "HeaderPairs", "LabelValue"] {
            #expect(!Self.corpus(target).isEmpty, "\(target)")
        }
    }

    @Test func tcpPrefixesThroughMetadataExchange() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        for input in Self.corpus("TCPPrefix") {
            let connection = TcpConnection(
                vm: server.vm, root: server.root,
                properties: [PropertyEntry("connection", .map([PropertyEntry("mtls", .bool(true))]))])
            connection.open()
            connection.downstreamData(input)
            connection.downstreamData([], endOfStream: true)
            // Either the prefix was removed or nothing was: the rest reaches the application intact.
            #expect(input.suffix(connection.forwardedUpstream.count).elementsEqual(connection.forwardedUpstream))
            connection.close()
            #expect(server.vm.failure == nil)
        }
    }

    @Test func peerMetadataHeadersThroughMetadataExchange() throws {
        let server = try ExchangeSidecar(id: "server", metadataFile: "server_node_metadata.rendered.json", direction: .inbound)
        for (index, input) in Self.corpus("PeerMetadata").enumerated() {
            let stream = server.stream([
                HeaderPair(key: Array("x-envoy-peer-metadata-id".utf8), value: Array("peer-\(index % 7)".utf8)),
                HeaderPair(key: Array("x-envoy-peer-metadata".utf8), value: input),
            ])
            #expect(stream.localResponse == nil)
            #expect(server.vm.failure == nil)
        }
    }

    @Test func flatNodesThroughStats() throws {
        let sidecar = try StatsSidecar()
        let inputs = Self.corpus("FlatNode")
        for input in inputs { sidecar.request(state: StatsSidecar.downstreamPeer(input)) }
        #expect(sidecar.vm.failure == nil)
        #expect(sidecar.requestsTotal == UInt64(inputs.count))
    }

    /// One VM per module; every input is a new plugin (root context) in it,
    /// as Envoy runs several plugins in one VM.
    static func vm(_ module: String, proxy: Proxy = Proxy(name: "c")) throws -> PluginVM {
        let vm = PluginVM(proxy: proxy, vmID: module)
        _ = try WasmKitGuest.load(try BuiltModules.bytes(module), into: vm)
        return vm
    }

    @Test func configurationsThroughBothModules() throws {
        for module in ["metadata_exchange", "stats"] {
            let vm = try Self.vm(module)
            for input in Self.corpus("JSON") {
                _ = try? vm.startPlugin(PluginConfiguration(name: module, rootID: "stats_inbound", configuration: input))
                #expect(vm.failure == nil, "\(module): \(String(decoding: input.prefix(80), as: UTF8.self))")
            }
        }
    }

    @Test func expressionsThroughStats() throws {
        let proxy = Proxy(name: "server")
        let vm = try Self.vm("stats", proxy: proxy)
        var configured = 0
        // Each input configures a plugin (~0.5 s in a debug host): fewer of them.
        for input in Self.corpus("Expression", limit: 60) {
            let text = String(decoding: input, as: UTF8.self)
            let json = String(decoding: try JSONSerialization.data(withJSONObject: ["metrics": [["dimensions": ["x": text]]]]), as: UTF8.self)
            // Refused (beyond the limits) is fine; trapped is not.
            guard let root = try? vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_inbound", configuration: Array(json.utf8))) else {
                #expect(vm.failure == nil)
                continue
            }
            configured += 1
            StatsSidecar.request(vm, root)
            #expect(vm.failure == nil, "\(text.prefix(80))")
        }
        #expect(proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }.map(\.value).reduce(0, +) == UInt64(configured))
    }

    @Test func headerMapsAsNodeLabelsThroughStats() throws {
        // The host normally serialises maps; here the bytes are whatever the corpus holds.
        let proxy = Proxy(name: "server")
        let vm = try Self.vm("stats", proxy: proxy)
        for input in Self.corpus("HeaderPairs") {
            proxy.setNode(id: "server", metadata: [PropertyEntry("LABELS", .bytes(input)), PropertyEntry("NAMESPACE", .string("default"))])
            let root = try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_inbound"))
            StatsSidecar.request(vm, root)
            #expect(vm.failure == nil)
        }
    }

    @Test func labelValuesAsHostHeadersThroughStats() throws {
        let sidecar = try StatsSidecar()
        let inputs = Self.corpus("LabelValue")
        for input in inputs { sidecar.request(authority: input) }
        #expect(sidecar.vm.failure == nil)
        let (families, total) = requestsTotalFamilies(try sidecar.prometheus())
        #expect(families == ["istio_requests_total"])
        #expect(total == UInt64(inputs.count))
    }
}
