// `make bench`: throughput of the Swift host on this machine (release build).
// Host->guest calls, guest->host calls, whole HTTP streams through the example
// plugin with and without tracing, wasm operators (fuel) per stream, and
// requests through the two-sidecar mesh (metadata_exchange + stats on both
// sides, Tests/Fixtures/scenarios/mesh.yaml), side by side in one run. Numbers are for comparing changes on one machine; the
// fuel count is deterministic and hardware-independent.

import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTools
import ProxyWasmWasmKit
import WAT

let mechanics = """
    (module
      (import "env" "proxy_get_log_level" (func $level (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_tick") (param i32))
      ;; calls the host `n` times (n = the root id argument of proxy_on_queue_ready's token)
      (func (export "proxy_on_queue_ready") (param $root i32) (param $n i32)
        (block $done (loop $again
          (br_if $done (i32.eqz (local.get $n)))
          (drop (call $level (i32.const 0)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $again)))))
    """

func measure(_ label: String, seconds: Double = 2, _ body: () -> Int) -> Double {
    let start = Date()
    var operations = 0
    while Date().timeIntervalSince(start) < seconds { operations += body() }
    return Double(operations) / Date().timeIntervalSince(start)
}

func row(_ name: String, _ value: String) { print(name.padding(toLength: 48, withPad: " ", startingAt: 0) + value) }

let wasmDirectory = ProcessInfo.processInfo.environment["WASM_DIR"] ?? "build/wasm"
guard let example = FileManager.default.contents(atPath: wasmDirectory + "/header_stamp.wasm") else {
    print("build/wasm/header_stamp.wasm is missing: run `make wasm`")
    exit(1)
}

print("proxy-wasm-host benchmarks (release, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
print(String(repeating: "-", count: 64))

// Mechanics.
let mechanicsVM = PluginVM(proxy: Proxy(name: "bench"), vmID: "bench")
let mechanicsGuest = try WasmKitGuest.load(try wat2wasm(mechanics), into: mechanicsVM)
let hostToGuest = measure("host->guest") {
    for _ in 0..<1000 { _ = try? mechanicsGuest.call("proxy_on_tick", [1]) }
    return 1000
}
row("host -> guest calls (empty export)", String(format: "%.0f calls/s", hostToGuest))
let guestToHost = measure("guest->host") {
    _ = try? mechanicsGuest.call("proxy_on_queue_ready", [1, 10_000])
    return 10_000
}
row("guest -> host calls (proxy_get_log_level)", String(format: "%.0f calls/s", guestToHost))

// Whole streams through the example plugin.
func streams(tracing: Bool) throws -> (perSecond: Double, fuelPerStream: UInt64) {
    let proxy = Proxy(name: "bench")
    proxy.setNode(id: "bench", metadata: [PropertyEntry("NAME", .string("bench-pod"))])
    let vm = PluginVM(proxy: proxy, vmID: "stamp", trace: TraceRecorder(enabled: tracing))
    let guest = try WasmKitGuest.load([UInt8](example), into: vm)
    let root = try vm.startPlugin(PluginConfiguration(name: "stamp", configuration: Array(#"{"deny_path_prefix": "/admin"}"#.utf8)))
    func one() {
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([
            HeaderPair(":method", "GET"), HeaderPair(":path", "/reviews/1"),
            HeaderPair(":authority", "reviews:9080"), HeaderPair("user-agent", "bench"),
        ])
        stream.sendResponseHeaders([HeaderPair(":status", "200"), HeaderPair("content-type", "text/plain")])
        stream.complete()
        if tracing { vm.trace.clear() }
    }
    for _ in 0..<50 { one() }
    let before = guest.fuelConsumed
    one()
    let fuel = guest.fuelConsumed - before
    let rate = measure("streams") {
        for _ in 0..<100 { one() }
        return 100
    }
    return (rate, fuel)
}

let plain = try streams(tracing: false)
let traced = try streams(tracing: true)
row("HTTP streams, header_stamp.wasm", String(format: "%.0f streams/s", plain.perSecond))
row("HTTP streams, header_stamp.wasm, traced", String(format: "%.0f streams/s", traced.perSecond))
row("tracing cost (traced time / untraced time)", String(format: "%.2fx", plain.perSecond / traced.perSecond))
row("wasm operators per stream (fuel)", "\(plain.fuelPerStream)")
row("header_stamp.wasm size", "\(example.count) bytes")

// The two-sidecar mesh: productpage -> reviews, both plugins on both sides, tracing off.
let meshPath = "Tests/Fixtures/scenarios/mesh.yaml"
var mesh = try Scenario.load(path: meshPath)
for p in mesh.proxies.indices {
    for q in mesh.proxies[p].plugins.indices {
        let name = mesh.proxies[p].plugins[q].module.lastPathComponent
        mesh.proxies[p].plugins[q].module = URL(fileURLWithPath: wasmDirectory).appendingPathComponent(name)
    }
}
let meshRunner = try ScenarioRunner(scenario: mesh, trace: TraceRecorder(enabled: false))
guard case let .http(meshRequest)? = mesh.traffic.first else {
    print("\(meshPath) has no HTTP traffic")
    exit(1)
}
for _ in 0..<50 { _ = meshRunner.runHTTP(meshRequest) }
let meshFuelBefore = meshRunner.proxies.flatMap(\.plugins).compactMap { ($0.guest as? WasmKitGuest)?.fuelConsumed }.reduce(0, +)
_ = meshRunner.runHTTP(meshRequest)
let meshFuel = meshRunner.proxies.flatMap(\.plugins).compactMap { ($0.guest as? WasmKitGuest)?.fuelConsumed }.reduce(0, +) - meshFuelBefore
let meshRate = measure("mesh") {
    for _ in 0..<20 { _ = meshRunner.runHTTP(meshRequest) }
    return 20
}
row("mesh requests (2 sidecars x MX + stats)", String(format: "%.0f requests/s", meshRate))
row("wasm operators per mesh request (4 plugins)", "\(meshFuel)")
row("wasm operators per second in the mesh", String(format: "%.0fM", meshRate * Double(meshFuel) / 1e6))
