import Foundation
import ProxyWasmABI
@testable import ProxyWasmHost
import ProxyWasmWasmKit
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
        let proxy = Proxy(name: "client")
        proxy.setNode(id: "client", metadata: MetadataExchangeTests.metadata("client_node_metadata.rendered.json"))
        let vm = PluginVM(proxy: proxy, vmID: module)
        _ = try WasmKitGuest.load(try BuiltModules.bytes(module), into: vm)
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
        #expect(try String(contentsOf: generated, encoding: .utf8) == committed,
                "run scripts/gen-flatnode-schema.sh after changing Schema/node_info.fbs")
    }
}
