import Foundation
import ProxyWasmABI
import ProxyWasmTools
import ProxyWasmWasmKit
import WAT

@testable import ProxyWasmHost

/// Locates modules built by `make wasm` (`$WASM_DIR`, else build/wasm).
enum BuiltModules {
    static var directory: URL {
        if let explicit = ProcessInfo.processInfo.environment["WASM_DIR"] { return URL(fileURLWithPath: explicit) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("build/wasm")
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name + ".wasm")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModuleMissing(path: url.path)
        }
        return [UInt8](data)
    }

    struct ModuleMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run `make wasm` (make test does it first)" }
    }
}

/// Bytes from a hex string ("789c..."); test vectors are written this way.
func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// Assembles WAT text into a module.
func wasm(_ text: String) throws -> [UInt8] { try wat2wasm(text) }

/// Writes module bytes to a fresh temporary `.wasm` file (for scenarios and
/// the CLI) and returns its path; the caller removes it.
func temporaryModuleFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "/module-\(UUID().uuidString).wasm"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// A guest with plain memory and no code: exercises host calls directly.
final class MemoryOnlyGuest: GuestInstance {
    let plain = ArrayGuestMemory()
    var memory: GuestMemory { plain }
    func hasExport(_ name: String) -> Bool { false }
    func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? { nil }
}

/// A VM on a fresh proxy with a memory-only guest and one live HTTP context
/// (id 2, root 1), for host-call tests.
func hostCallFixture(dialect: PropertyDialect = .current) -> (PluginVM, ArrayGuestMemory, ContextState) {
    let proxy = Proxy(name: "test", dialect: dialect)
    let vm = PluginVM(proxy: proxy, vmID: "vm", trace: TraceRecorder())
    let guest = MemoryOnlyGuest()
    vm.guest = guest
    let root = ContextState(id: 1, rootID: 1, kind: .root)
    let stream = ContextState(id: 2, rootID: 1, kind: .http)
    vm.contexts = [1: root, 2: stream]
    vm.plugins[1] = PluginConfiguration(name: "plugin")
    vm.currentContextID = 2
    return (vm, guest.plain, stream)
}

extension PluginVM {
    /// Calls a host function by name with raw arguments.
    func call(_ name: String, _ arguments: UInt64...) throws -> UInt32? {
        try dispatchHostCall(module: "env", name: name, ArrayArguments(arguments))
    }

    /// Calls a WASI function by name (preview1 unless `module` says otherwise).
    func wasi(_ name: String, module: String = "wasi_snapshot_preview1", _ arguments: UInt64...) throws -> UInt32? {
        try dispatchHostCall(module: module, name: name, ArrayArguments(arguments))
    }
}

/// A guest whose callbacks are Swift closures over plain memory: drives the
/// host's delivery paths (call-out answers, ticks) without writing WAT.
final class ScriptedGuest: GuestInstance {
    let plain = ArrayGuestMemory()
    var memory: GuestMemory { plain }
    /// Callback name -> what it does; its arguments; its i32 result.
    var callbacks: [String: ([UInt32]) throws -> UInt32?] = [:]
    /// Every callback run, in order, with its arguments.
    private(set) var calls: [(name: String, arguments: [UInt32])] = []

    func hasExport(_ name: String) -> Bool { callbacks[name] != nil }

    func call(_ name: String, _ arguments: [UInt32]) throws -> UInt32? {
        calls.append((name, arguments))
        return try callbacks[name]?(arguments)
    }
}

extension ArrayGuestMemory {
    /// Places `data` at `address`; returns (address, size) as host-call arguments.
    func put(_ data: [UInt8], at address: UInt32) -> (UInt64, UInt64) {
        place(data, at: address)
        return (UInt64(address), UInt64(data.count))
    }

    /// Reads what a `copyToPointerSize` host call wrote through two slots.
    func copied(_ pointerSlot: UInt32, _ sizeSlot: UInt32) -> [UInt8]? {
        guard let pointer = readUInt32(pointerSlot), let size = readUInt32(sizeSlot) else { return nil }
        return size == 0 ? [] : read(pointer, size)
    }
}

/// stats.wasm alone on a sidecar with Istio's server (or client) node
/// metadata and no cluster metadata: the Host header is the destination service.
struct StatsSidecar {
    let proxy: Proxy
    let vm: PluginVM
    let root: UInt32

    /// Starts stats.wasm as `stats_inbound` (or `stats_outbound`) with `configuration`.
    init(inbound: Bool = true, configuration: String = "") throws {
        proxy = Proxy(name: inbound ? "server" : "client")
        let metadata = inbound ? "server_node_metadata.rendered.json" : "client_node_metadata.rendered.json"
        proxy.setNode(id: proxy.name, metadata: MetadataExchangeTests.metadata(metadata))
        proxy.setXDS("listener_direction", .int((inbound ? TrafficDirection.inbound : .outbound).rawValue))
        vm = PluginVM(proxy: proxy, vmID: "stats")
        _ = try WasmKitGuest.load(try BuiltModules.bytes("stats"), into: vm)
        root = try vm.startPlugin(
            PluginConfiguration(
                name: "stats", rootID: inbound ? "stats_inbound" : "stats_outbound",
                configuration: Array(configuration.utf8)))
    }

    /// One GET with `authority` (bytes: a peer may send anything) and a 200, with the stream's filter state.
    @discardableResult
    func request(authority: [UInt8] = Array("reviews".utf8), state: StreamState = StreamState()) -> HttpStream {
        Self.request(vm, root, authority: authority, state: state)
    }

    /// The same request to any root of any VM.
    @discardableResult
    static func request(
        _ vm: PluginVM, _ root: UInt32, authority: [UInt8] = Array("reviews".utf8),
        state: StreamState = StreamState()
    ) -> HttpStream {
        let stream = HttpStream(vm: vm, root: root, streamState: state)
        stream.sendRequestHeaders([
            HeaderPair(":method", "GET"), HeaderPair(":path", "/"), HeaderPair(key: Array(":authority".utf8), value: authority),
        ])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        return stream
    }

    /// The values of every `istio_requests_total` series, added up.
    var requestsTotal: UInt64 { proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }.map(\.value).reduce(0, +) }

    /// This proxy's `/stats/prometheus` text under Istio's tag rules.
    func prometheus() throws -> String {
        try PrometheusRenderer(configuration: EnvoyStatsConfiguration(tags: LabelNeutralizationTests.rules)).render(proxy.stats)
    }

    /// A peer's filter state as metadata_exchange leaves it on an inbound stream.
    static func downstreamPeer(_ bytes: [UInt8], id: String = "client") -> StreamState {
        let state = StreamState()
        state.filterState["wasm.downstream_peer_id"] = Array(id.utf8)
        state.filterState["wasm.downstream_peer"] = bytes
        return state
    }
}

/// What a Prometheus text says of `istio_requests_total`: the families whose
/// name mentions requests_total, and the sum of its series.
func requestsTotalFamilies(_ text: String) -> (families: Set<Substring>, total: UInt64) {
    let lines = text.split(separator: "\n")
    let families = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }.filter { $0.contains("requests_total") })
    let total = lines.filter { $0.hasPrefix("istio_requests_total{") }.compactMap { UInt64($0.split(separator: " ").last!) }.reduce(0, +)
    return (families, total)
}

/// `Tests/Fixtures/scenarios/mesh.yaml` with every plugin's module taken from
/// the built modules (`module` maps each module's file name, e.g. to telemetry.wasm).
func meshScenario(module: (String) -> String = { $0 }) throws -> Scenario {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/scenarios/mesh.yaml")
    var scenario = try Scenario.load(path: fixture.path)
    for p in scenario.proxies.indices {
        for q in scenario.proxies[p].plugins.indices {
            let name = module(scenario.proxies[p].plugins[q].module.lastPathComponent)
            scenario.proxies[p].plugins[q].module = BuiltModules.directory.appendingPathComponent(name)
        }
    }
    return scenario
}
