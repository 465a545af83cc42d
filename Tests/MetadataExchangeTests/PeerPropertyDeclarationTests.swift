import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// metadata_exchange declares the peers it stores as FlatBuffers of Istio's
/// FlatNode schema (`declare_property`), so Envoy's CEL can read their fields
/// (Tests/Envoy/test_peer_properties.py shows it in Envoy).
@Suite("metadata_exchange peer property declarations")
struct PeerPropertyDeclarationTests {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Runs a command in the repository root; its standard output.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `flatc --binary --schema` of the committed node_info.fbs.
    static func compiledSchema() throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fbs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try run(["flatc", "--binary", "--schema", "-o", directory.path, "Plugins/MetadataExchange/Schema/node_info.fbs"])
        #expect(result.status == 0, "flatc (Debian flatbuffers-compiler, installed by make) failed")
        return Array(try Data(contentsOf: directory.appendingPathComponent("node_info.bfbs")))
    }

    @Test(arguments: [("metadata_exchange", "metadata_exchange"), ("telemetry", "mx")])
    func bothPeersAreDeclaredWithIstiosSchema(_ module: String, _ rootID: String) throws {
        let proxy = Sidecar.proxy("client", metadata: "client_node_metadata.rendered.json")
        let vm = try Sidecar.load(module, on: proxy, vmID: module).vm
        _ = try vm.startPlugin(PluginConfiguration(name: "metadata_exchange", rootID: rootID, configuration: []))
        let schema = try Self.compiledSchema()
        #expect(Set(vm.declaredProperties.keys) == ["upstream_peer", "downstream_peer"])
        for declaration in vm.declaredProperties.values {
            #expect(declaration.type == .flatBuffers && declaration.span == .downstreamRequest && !declaration.readonly)
            #expect(declaration.schema == schema, "\(declaration.name)")
        }
        #expect(String(decoding: schema, as: UTF8.self).contains("Wasm.Common.FlatNode"))
    }

    @Test func theGeneratedSchemaSourceIsCurrent() throws {
        let generated = FileManager.default.temporaryDirectory.appendingPathComponent("FlatNodeSchema-\(UUID().uuidString).swift")
        defer { try? FileManager.default.removeItem(at: generated) }
        #expect(try Self.run(["scripts/gen-flatnode-schema.sh", generated.path]).status == 0)
        let committed = try String(contentsOf: Self.root.appendingPathComponent("Plugins/MetadataExchange/FlatNodeSchema.swift"), encoding: .utf8)
        #expect(
            try String(contentsOf: generated, encoding: .utf8) == committed,
            "run scripts/gen-flatnode-schema.sh after changing Schema/node_info.fbs")
    }

    /// Another module on the client sidecar reads the exchanged peer's fields
    /// by path, as Envoy answers them once the property is declared
    /// (test_peer_properties.py runs the same module in Envoy).
    @Test func anotherPluginReadsThePeersFieldsByPath() throws {
        let source = Self.root.appendingPathComponent("Tests/Fixtures/wat/peer_field_reader.wat")
        let reader = try temporaryModuleFile(try wasm(try String(contentsOf: source, encoding: .utf8)))
        defer { try? FileManager.default.removeItem(atPath: reader) }
        let module = BuiltModules.directory.appendingPathComponent("metadata_exchange.wasm").path
        // The response path runs the chain backwards: the reader, first in the chain, sees the response after the exchange.
        let yaml = """
            proxies:
              - name: client
                node: {id: client}
                listener_direction: outbound
                plugins: [{name: reader, module: \(reader)}, {name: mx, module: \(module)}]
              - {name: server, node: {id: server}, listener_direction: inbound, plugins: [{name: mx, module: \(module)}]}
            traffic:
              - http: {through: [client, server]}
            """
        var scenario = try Scenario.load(yaml: yaml, file: "mesh.yaml", baseDirectory: URL(fileURLWithPath: "/"))
        scenario.proxies[0].metadata = IstioTestdata.nodeMetadata("client_node_metadata.rendered.json")
        scenario.proxies[1].metadata = IstioTestdata.nodeMetadata("server_node_metadata.rendered.json")
        let runner = try ScenarioRunner(scenario: scenario)
        runner.run()
        let logged = runner.proxies[0].proxy.logs.filter { $0.vmID == runner.proxies[0].plugins[0].vm.vmID }.map(\.message)
        #expect(logged == ["ratings-v1", "ratings", "missing"], "\(logged)")
    }
}

/// The reader walks buffers a module stored: anything malformed is no value, never a crash.
@Suite("FlatBuffers reflection over hostile buffers")
struct FlatBuffersReflectionTests {
    @Test func malformedBuffersAndSchemasGiveNoValue() throws {
        let schema = try PeerPropertyDeclarationTests.compiledSchema()
        let reflection = try #require(FlatBuffersReflection(schema: schema))
        var generator = SystemRandomNumberGenerator()
        let valid = FlatNodeCodec.encode(
            PeerNode.fromStruct(
                try StructCodec.decodeStruct(
                    Base64.decode(Array(IstioTestdata.exchangeVector("server", "header_b64").utf8))!)))
        #expect(reflection.value(in: valid, path: ["workload_name"]) == .string("ratings-v1"))
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = reflection.value(in: bytes, path: ["labels", "app", "value"])
            _ = reflection.document(in: bytes)
            _ = reflection.value(in: Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))), path: ["workload_name"])
        }
        #expect(reflection.value(in: [], path: ["workload_name"]) == nil)
        #expect(reflection.document(in: []) == nil && reflection.document(in: [0xFF, 0xFF, 0xFF, 0x7F]) == nil)
        #expect(reflection.value(in: [0xFF, 0xFF, 0xFF, 0x7F], path: ["workload_name"]) == nil)
        #expect(FlatBuffersReflection(schema: Array(schema.prefix(40))) == nil)
        #expect(FlatBuffersReflection(schema: []) == nil)
    }

    /// What a trace shows for a stored peer: every present field by name, the
    /// labels (a vector of key/value tables) as a map, lists as lists.
    @Test func aWholePeerReadsAsItsFieldsWithLabelsAsAMap() throws {
        let reflection = try #require(FlatBuffersReflection(schema: try PeerPropertyDeclarationTests.compiledSchema()))
        #expect(reflection.rootName == "Wasm.Common.FlatNode")
        let valid = FlatNodeCodec.encode(
            PeerNode.fromStruct(
                try StructCodec.decodeStruct(
                    Base64.decode(Array(IstioTestdata.exchangeVector("server", "header_b64").utf8))!)))
        let document = try #require(reflection.document(in: valid))
        #expect(document.child("workload_name") == .string("ratings-v1"))
        #expect(document.child("namespace") == .string("default"))
        #expect(document.child("labels")?.child("app") == .string("ratings"))
        #expect(document.child("app_containers") == .list([.string("server")]))
        #expect(document.child("platform_metadata")?.child("gcp_project") == .string("test-project"))
        guard case let .map(entries) = document else { throw ExpectationFailed() }
        #expect(entries.map(\.key) == entries.map(\.key).sorted(), "schema (name) order")
        #expect(TraceText.value(document).hasPrefix("{app_containers: [server], cluster_id: server-cluster, "))
    }
}

struct ExpectationFailed: Error {}
