import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing

/// One version, shown by the host, the modules and the changelog.
@Suite("Version")
struct VersionTests {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Changes not released yet sit under `## Unreleased`, above the version they will follow.
    @Test func theChangelogsNewestReleaseHeadingIsTheVersion() throws {
        let changelog = try String(contentsOf: Self.root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let headings = changelog.split(separator: "\n").filter { $0.hasPrefix("## ") }
        let released = headings.drop { $0 == "## Unreleased" }
        #expect(headings.count - released.count <= 1, "one Unreleased section at most, first")
        #expect(released.first == "## \(ProjectVersion.text)")
        let parts = ProjectVersion.text.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
    }

    @Test func theHostPrintsItsVersion() throws {
        #expect(ProxyWasmHostCommand.configuration.version == "proxy-wasm-host \(ProjectVersion.text)")
    }

    @Test(arguments: [
        ("stats", "stats_outbound", "stats"), ("metadata_exchange", "mx", "metadata_exchange"),
        ("telemetry", "stats_outbound", "stats"), ("telemetry", "mx", "metadata_exchange"),
    ])
    func eachModuleLogsItsVersionWhenItsVMStarts(_ module: String, _ rootID: String, _ plugin: String) throws {
        let proxy = Proxy(name: "p")
        let vm = PluginVM(proxy: proxy, vmID: module)
        _ = try WasmKitGuest.load(try BuiltModules.bytes(module), into: vm)
        _ = try vm.startPlugin(PluginConfiguration(name: plugin, rootID: rootID, configuration: []))
        #expect(
            proxy.logs.contains { $0.level == .info && $0.message == "\(plugin) \(ProjectVersion.text) starting" },
            "\(proxy.logs.map(\.message))")
    }
}
