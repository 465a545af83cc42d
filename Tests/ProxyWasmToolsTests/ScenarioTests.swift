import ArgumentParser
import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import Testing

@testable import ProxyWasmTools

@Suite("Scenarios and the CLI")
struct ScenarioTests {
    static let base = URL(fileURLWithPath: "/tmp")

    func parse(_ yaml: String) throws -> Scenario {
        try Scenario.load(yaml: yaml, file: "s.yaml", baseDirectory: Self.base)
    }

    static let invalid: [(String, String)] = [
        ("proxies: 3", "s.yaml: proxies: expected a list, found a number"),
        ("proxies: []", "s.yaml: proxies: expected at least one proxy"),
        (
            "proxies: [{name: a, colour: red}]",
            "s.yaml: proxies[0].colour: unknown field (known: name, node, listener_direction, stream_properties, stats_tags, histogram_buckets, plugins, upstreams)"
        ),
        ("proxies: [{name: a, upstreams: {auth: {tcp: {}}}}]", "s.yaml: proxies[0].upstreams.auth.tcp: unknown field (known: http, grpc)"),
        (
            "proxies: [{name: a, upstreams: {auth: {http: {reset: true, status: 200}}}}]",
            "s.yaml: proxies[0].upstreams.auth.http.status: a reset has no response"
        ),
        (
            "proxies: [{name: a, upstreams: {auth: {http: {status: 42}}}}]",
            "s.yaml: proxies[0].upstreams.auth.http.status: expected an integer >= 100, found 42"
        ),
        (
            "proxies: [{name: a, upstreams: {rl: {grpc: {status: 17}}}}]",
            "s.yaml: proxies[0].upstreams.rl.grpc.status: expected a gRPC status 0...16, found 17"
        ),
        ("proxies: [{name: a, upstreams: {rl: {grpc: {messages: [{}]}}}}]", "s.yaml: proxies[0].upstreams.rl.grpc.messages[0]:"),
        (
            "proxies: [{name: a, listener_direction: sideways}]",
            "s.yaml: proxies[0].listener_direction: expected inbound, outbound or unspecified, found \"sideways\""
        ),
        ("proxies: [{name: a}, {name: a}]", "s.yaml: proxies[1].name: duplicate proxy name \"a\""),
        ("proxies: [{name: a, plugins: [{name: p}]}]", "s.yaml: proxies[0].plugins[0].module: expected a string, found nothing"),
        (
            "proxies: [{name: a, plugins: [{name: p, module: x.wasm, kind: udp}]}]",
            "s.yaml: proxies[0].plugins[0].kind: expected http or tcp, found \"udp\""
        ),
        ("dialect: old\nproxies: [{name: a}]", "s.yaml: dialect: expected one of current, legacy, found \"old\""),
        ("proxies: [{name: a}]\ntraffic: [{http: {through: [b]}}]", "s.yaml: traffic[0].http.through[0]: no proxy named \"b\" (proxies: a)"),
        ("proxies: [{name: a}]\ntraffic: [{http: {through: [a], repeat: 0}}]", "s.yaml: traffic[0].http.repeat: expected an integer >= 1, found 0"),
        (
            "proxies: [{name: a}]\ntraffic: [{tcp: {through: [a], exchanges: [{end: true}]}}]",
            "s.yaml: traffic[0].tcp.exchanges[0]: expected downstream or upstream bytes"
        ),
        ("proxies: [{name: a}]\ntraffic: [{grpc: {}}]", "s.yaml: traffic[0].grpc: unknown field (known: http, tcp)"),
        ("proxies: [{name: a\n", "s.yaml: (document): not valid YAML"),
        (
            "proxies: [{name: a, stats_tags: istio}]",
            "s.yaml: proxies[0].stats_tags: expected generated or a list of {tag_name, regex}, found \"istio\""
        ),
        ("proxies: [{name: a, stats_tags: [{tag_name: t}]}]", "s.yaml: proxies[0].stats_tags[0].regex: expected a string, found nothing"),
        (
            "proxies: [{name: a, histogram_buckets: [{prefix: p, buckets: [1, x]}]}]",
            "s.yaml: proxies[0].histogram_buckets[0].buckets[1]: expected a number, found a string"
        ),
        (
            "proxies: [{name: a, upstreams: {auth: {http: {headers: [[x-a, 1], [x-b]]}}}}]",
            "s.yaml: proxies[0].upstreams.auth.http.headers[1]: expected [name, value]"
        ),
        ("proxies: [{name: a, node: {metadata: [1]}}]", "s.yaml: proxies[0].node.metadata: expected a mapping, found a list"),
    ]

    @Test(arguments: invalid.indices)
    func invalidScenariosNameTheFileTheFieldAndTheExpectation(_ index: Int) {
        let (yaml, expected) = Self.invalid[index]
        do {
            _ = try parse(yaml)
            Issue.record("accepted: \(yaml)")
        } catch let error as ScenarioError {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func configurationMappingsAreSentAsJSON() throws {
        let scenario = try parse("proxies: [{name: a, plugins: [{name: p, module: m.wasm, configuration: {b: 1, a: x}}]}]")
        #expect(scenario.proxies[0].plugins[0].configuration == Array(#"{"a":"x","b":1}"#.utf8))
        #expect(scenario.proxies[0].plugins[0].module.path == "/tmp/m.wasm")
    }

    @Test func theMeshScenarioRunsBothSidecars() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scenarios/header_stamp_mesh.yaml")
        var scenario = try Scenario.load(path: fixture.path)
        let module = BuiltModules.directory.appendingPathComponent("header_stamp.wasm")
        for p in scenario.proxies.indices { for q in scenario.proxies[p].plugins.indices { scenario.proxies[p].plugins[q].module = module } }
        let runner = try ScenarioRunner(scenario: scenario)
        runner.run()
        #expect(runner.httpOutcomes.map(\.status) == [200, 200, 403])
        let first = runner.httpOutcomes[0]
        #expect(first.responseHeaders.contains(HeaderPair("x-client-stamp", "client; node=productpage-v1")))
        #expect(first.responseHeaders.contains(HeaderPair("x-server-stamp", "server; node=reviews-v1")))
        #expect(runner.httpOutcomes[2].localReplyDetails == "header_stamp_denied")
        // The client's stamp also lands on the server's local reply, as in Envoy.
        #expect(runner.httpOutcomes[2].responseHeaders.contains(HeaderPair("x-client-stamp", "client; node=productpage-v1")))
        let texts = Dictionary(uniqueKeysWithValues: runner.prometheus().map { ($0.proxy, $0.text) })
        #expect(texts["server"]?.contains("header_stamp_denied_total{} 1") == true)
        #expect(texts["client"]?.contains("header_stamp_requests_total{} 3") == true)
        let sources = Set(runner.trace.events.compactMap(\.source))
        #expect(sources == ["client/stamp", "server/stamp"])
    }

    /// A scenario says how its Prometheus output is tagged: `generated` is what
    /// `envoy-config` would emit for the proxy's stats plugins (other plugins'
    /// configurations are not read as stats configurations); absent, no rules
    /// apply and the stat names stay whole, as the runner assumes nothing.
    @Test func statsTagsAreWhatTheScenarioAsksFor() throws {
        let stats = BuiltModules.directory.appendingPathComponent("stats.wasm").path
        let stamp = BuiltModules.directory.appendingPathComponent("header_stamp.wasm").path
        func outbound(_ tags: String) throws -> String {
            let yaml = """
                proxies:
                  - name: client
                    listener_direction: outbound
                    \(tags)
                    plugins:
                      - {name: stamp, module: \(stamp), configuration: {header: x-stamp, value: hi}}
                      - {name: stats_outbound, module: \(stats), configuration: {metrics: [{dimensions: {route: request.url_path}}]}}
                traffic:
                  - http: {through: [client], request: {headers: {":path": /a}}}
                """
            let runner = try ScenarioRunner(scenario: try parse(yaml))
            runner.run()
            return try #require(runner.prometheus().first?.text)
        }
        let generated = try outbound("stats_tags: generated")
        #expect(generated.contains(#"istio_requests_total{reporter="source","#))
        #expect(generated.contains(#"route="/a""#), "the custom dimension's tag rule is generated too")
        let untagged = try outbound("")
        #expect(!untagged.contains("istio_requests_total{reporter="))
        // Without rules the encoded name stays whole (Prometheus text writes its separators as `_`).
        #expect(untagged.contains("\nreporter___source___source_workload___unknown___"))
    }

    @Test func tracesRoundTripThroughJSONLinesAndDiff() throws {
        let recorder = TraceRecorder()
        recorder.record(.callback, context: 2, name: "proxy_on_request_headers", args: ["headers": "{:path: /}"], result: "Continue")
        recorder.record(.hostcall, context: 2, name: "proxy_log", args: ["message": "hi"], status: "Ok")
        let parsed = try TraceFormat.parse(recorder.jsonLines())
        #expect(parsed == recorder.events)
        #expect(TraceFormat.diff(parsed, recorder.events).isEmpty)
        var changed = parsed
        changed[1].args["message"] = "bye"
        let differences = TraceFormat.diff(parsed, changed)
        #expect(differences.count == 1 && differences[0].contains("message: bye"))
        #expect(throws: TraceFormat.ParseError.self) { try TraceFormat.parse("{\"seq\": 1}\nnot json") }
        #expect(TraceFormat.render(parsed[0]).contains("-> proxy_on_request_headers(headers: {:path: /}) = Continue"))
    }

    @Test func tagExtractionFollowsEnvoy() throws {
        let extractor = try TagExtractor([
            StatsTagRule(name: "reporter", pattern: #"(reporter=\.=(.*?);\.;)"#),
            StatsTagRule(name: "code", pattern: #"(code=\.=(.*?);\.;)"#),
        ])
        let (name, tags) = extractor.extract("wasmcustom.reporter=.=source;.;code=.=200;.;istio_requests_total")
        #expect(name == "wasmcustom.istio_requests_total")
        #expect(tags.map(\.0) == ["reporter", "code"] && tags.map(\.1) == ["source", "200"])
        #expect(throws: StatsTagError.self) { try TagExtractor([StatsTagRule(name: "bad", pattern: "(unclosed")]) }
    }

    @Test func validateCommandExitsNonZeroWithTheReasons() throws {
        let module = try wasm(#"(module (import "env" "nope" (func)) (memory (export "memory") 1))"#)
        let path = try temporaryModuleFile(module)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let command = try ValidateCommand.parse([path])
        #expect(throws: (any Error).self) { try command.run() }
    }

    @Test func validateStopsALoopingStartFunctionWithinItsFuel() throws {
        let path = try temporaryModuleFile(try wasm(WATModule.module("(func $spin (loop $forever (br $forever))) (start $spin)")))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = Date()
        #expect(throws: (any Error).self) { try ValidateCommand.parse([path]).run() }
        #expect(Date().timeIntervalSince(started) < 30)  // the default budget stops it in seconds, even in debug
        #expect(throws: (any Error).self) { try ValidateCommand.parse([path, "--fuel", "100000"]).run() }
    }

    /// A plugin that traps makes `run` fail, after printing everything else.
    @Test func runExitsNonZeroWhenAPluginFailed() throws {
        let trapping = try temporaryModuleFile(
            try wasm(
                WATModule.module(
                    """
                    (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
                    (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
                    (func (export "proxy_on_context_create") (param i32 i32))
                    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (unreachable))
                    """)))
        let looping = try temporaryModuleFile(
            try wasm(
                WATModule.module(
                    """
                    (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
                    (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
                    (func (export "proxy_on_context_create") (param i32 i32))
                    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (loop $forever (br $forever)) (i32.const 0))
                    """)))
        let passthrough = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/wat/passthrough.wat")
        let healthy = try temporaryModuleFile(try wasm(try String(contentsOf: passthrough, encoding: .utf8)))
        defer { for path in [trapping, looping, healthy] { try? FileManager.default.removeItem(atPath: path) } }
        func scenarioFile(_ module: String) throws -> String {
            let path = NSTemporaryDirectory() + "/scenario-\(UUID().uuidString).yaml"
            try "proxies: [{name: a, plugins: [{name: p, module: \(module)}]}]\ntraffic: [{http: {through: [a]}}]\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        for module in [trapping, looping] {
            let scenario = try scenarioFile(module)
            defer { try? FileManager.default.removeItem(atPath: scenario) }
            #expect(throws: ExitCode(3)) { try RunCommand.parse([scenario, "--fuel", "1000000", "--prometheus-only"]).run() }
        }
        let scenario = try scenarioFile(healthy)
        defer { try? FileManager.default.removeItem(atPath: scenario) }
        try RunCommand.parse([scenario, "--prometheus-only"]).run()
    }

    /// `run --cost` on the two-sidecar mesh: operators by plugin and callback,
    /// and per request, add up to what the guests counted.
    @Test func modulePathsTakeEnvironmentVariables() throws {
        setenv("PROXY_WASM_SCENARIO_TEST_DIR", "/opt/modules", 1)
        let scenario = try parse("proxies: [{name: a, plugins: [{name: p, module: \"${PROXY_WASM_SCENARIO_TEST_DIR}/x.wasm\"}]}]")
        #expect(scenario.proxies[0].plugins[0].module.path == "/opt/modules/x.wasm")
        do {
            _ = try parse("proxies: [{name: a, plugins: [{name: p, module: \"${PROXY_WASM_UNSET_VARIABLE}/x.wasm\"}]}]")
            Issue.record("an unset variable must be an error")
        } catch let error as ScenarioError {
            #expect(error.description.contains("needs the environment variable PROXY_WASM_UNSET_VARIABLE, which is not set"), "\(error)")
        }
    }

    /// Istio 1.12's own modules through the same mesh (legacy property
    /// names), when ANCHOR_WASM_DIR points at them; skipped otherwise.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ANCHOR_WASM_DIR"] != nil))
    func istiosModulesRunTheMeshScenario() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scenarios/istio_mesh.yaml")
        let runner = try ScenarioRunner(scenario: try Scenario.load(path: fixture.path))
        let startup = CostReport.snapshot(runner)
        runner.run()
        #expect(runner.httpOutcomes.map(\.status) == [200, 200, 200, 404])
        #expect(runner.proxies.allSatisfy { $0.plugins.allSatisfy { $0.vm.failure == nil } })
        #expect(CostReport(runner: runner, startup: startup).plugins.allSatisfy { ($0.perExchange ?? 0) > 0 })
    }

    /// telemetry.wasm (both plugins in one module, chosen by root id) gives
    /// exactly the series of metadata_exchange.wasm and stats.wasm.
    @Test func theCombinedModuleGivesTheSameSeriesAsTheTwoModules() throws {
        func prometheus(combined: Bool) throws -> [String] {
            let runner = try ScenarioRunner(scenario: try meshScenario { combined ? "telemetry.wasm" : $0 })
            runner.run()
            #expect(runner.proxies.allSatisfy { $0.plugins.allSatisfy { $0.vm.failure == nil } })
            return runner.prometheus().map { $0.1 }
        }
        let separate = try prometheus(combined: false)
        #expect(separate.joined().contains("istio_requests_total{reporter=\"destination\""))
        #expect(try prometheus(combined: true) == separate)
    }

    @Test func theCostReportAccountsForEveryOperatorOfTheTraffic() throws {
        let scenario = try meshScenario()
        let runner = try ScenarioRunner(scenario: scenario)
        let startup = CostReport.snapshot(runner)
        runner.run()
        let report = CostReport(runner: runner, startup: startup)
        #expect(report.plugins.count == scenario.proxies.map(\.plugins.count).reduce(0, +))
        for plugin in report.plugins {
            let guest = try #require(
                runner.proxies.first { $0.spec.name == plugin.proxy }?.plugins.first { $0.spec.name == plugin.plugin }?.guest as? WasmKitGuest)
            #expect(plugin.startup + plugin.trafficOperators == guest.fuelConsumed)
            #expect(plugin.startup > 0 && (plugin.perExchange ?? 0) > 0)
            #expect(plugin.traffic.contains { $0.export == "proxy_on_request_headers" })
        }
        #expect(report.text.contains("operators per request or connection"))
        #expect(report.text.contains("proxy_on_log"))
    }

    /// The call-out module of `CalloutTests` in a scenario: the request waits
    /// for the answer's latency, then continues with what the answer allowed.
    @Test func scenarioUpstreamsAnswerCallOutsAndRequestsWaitForThem() throws {
        let path = try temporaryModuleFile(try wasm(CalloutProbe.authModule()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func run(_ upstreams: String) throws -> ScenarioRunner {
            let scenario = try parse(
                """
                proxies:
                  - name: a
                    plugins: [{name: auth, module: \(path)}]
                    \(upstreams)
                traffic:
                  - http: {through: [a], request: {headers: {":authority": app}}, response: {status: 204}}
                """)
            let runner = try ScenarioRunner(scenario: scenario)
            runner.run()
            return runner
        }
        let granted = try run("upstreams: {auth: {http: {status: 200, body: ok, latency_ms: 40}}}")
        #expect(granted.httpOutcomes.map(\.status) == [204])
        #expect(granted.httpOutcomes[0].upstreamRequestHeaders.contains(HeaderPair("x-auth", "allowed")))
        #expect(granted.proxies[0].proxy.clock.nanoseconds - VirtualClock.defaultStart == 40_000_000)

        let reset = try run("upstreams: {auth: {http: {reset: true}}}")
        #expect(reset.httpOutcomes.map(\.status) == [503])
        #expect(reset.httpOutcomes[0].localReplyDetails == "denied")

        // No such cluster: the call fails, no answer will come, the request stays held.
        let held = try run("")
        #expect(held.httpOutcomes[0].heldBy == "a/auth")
        #expect(held.httpOutcomes[0].status == 0)
    }

    @Test func grpcUpstreamsParseIntoEventsInOrder() throws {
        let scenario = try parse(
            """
            proxies:
              - name: a
                upstreams:
                  rl: {grpc: {initial_metadata: {a: "1"}, messages: [x, y], trailing_metadata: {t: "2"}, status: 8, status_message: busy, latency_ms: 3}}
            """)
        let reply = try #require(scenario.proxies[0].upstreams["rl"]?.grpc)
        #expect(
            reply.events == [
                .initialMetadata([HeaderPair("a", "1")]), .message(Array("x".utf8)), .message(Array("y".utf8)),
                .trailingMetadata([HeaderPair("t", "2")]), .close(status: 8, message: "busy"),
            ])
        #expect(reply.latencyMilliseconds == 3)
    }
}

/// A gRPC check through a real module in a scenario: the request waits for
/// the unary answer; OK continues it, a failure becomes a local 403.
@Suite("Scenarios with gRPC upstreams")
struct GrpcScenarioTests {
    static let module = WATModule.module(
        """
        (global $stream (mut i32) (i32.const 0))
        (data (i32.const 0x100) "authz")
        (data (i32.const 0x120) "pkg.Authz")
        (data (i32.const 0x140) "Check")
        (data (i32.const 0x160) "req")
        (data (i32.const 0x180) "denied")
        (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
        (func (export "proxy_on_context_create") (param i32 i32))
        (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
          (global.set $stream (local.get $ctx))
          (drop (call $grpc_call (i32.const 0x100) (i32.const 5) (i32.const 0x120) (i32.const 9) (i32.const 0x140) (i32.const 5)
                                 (i32.const 0) (i32.const 0) (i32.const 0x160) (i32.const 3) (i32.const 1000) (i32.const 0x50)))
          (i32.const 1))
        (func (export "proxy_on_grpc_receive") (param i32 i32 i32)
          (drop (call $set_effective (global.get $stream)))
          (drop (call $continue (i32.const 0))))
        (func (export "proxy_on_grpc_close") (param i32 i32 i32)
          (drop (call $set_effective (global.get $stream)))
          (drop (call $local_response (i32.const 403) (i32.const 0x180) (i32.const 6) (i32.const 0) (i32.const 0)
                                      (i32.const 0) (i32.const 0) (i32.const 7))))
        """,
        imports: """
            (import "env" "proxy_grpc_call" (func $grpc_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
            (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
            (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
            (import "env" "proxy_send_local_response" (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
            """)

    func run(_ upstream: String) throws -> ScenarioRunner {
        let path = try temporaryModuleFile(try wasm(Self.module))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let scenario = try Scenario.load(
            yaml: """
                proxies:
                  - name: a
                    plugins: [{name: authz, module: \(path)}]
                    upstreams: {authz: {grpc: \(upstream)}}
                traffic:
                  - http: {through: [a], response: {status: 200}}
                """, file: "s.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
        let runner = try ScenarioRunner(scenario: scenario)
        runner.run()
        return runner
    }

    @Test func anOKAnswerLetsTheRequestThroughAfterItsLatency() throws {
        let runner = try run("{messages: [ok], latency_ms: 25}")
        #expect(runner.httpOutcomes.map(\.status) == [200])
        #expect(runner.proxies[0].proxy.clock.nanoseconds - VirtualClock.defaultStart == 25_000_000)
        let exchange = try #require(runner.proxies[0].proxy.upstreams.grpcExchanges.first)
        #expect(exchange.request.serviceName == "pkg.Authz" && exchange.request.message == Array("req".utf8))
    }

    @Test func aFailedAnswerBecomesTheLocalReply() throws {
        let runner = try run("{status: 7, status_message: nope}")
        #expect(runner.httpOutcomes.map(\.status) == [403])
        #expect(runner.httpOutcomes[0].localReplyDetails == "denied")
    }

    /// A plugin that answers every answer with a new call-out never lets the
    /// request go; the runner stops waiting and reports it held.
    @Test func aPluginCallingOutForeverLeavesTheRequestHeld() throws {
        let pairs = CalloutProbe.requestPairs.map { String(format: "\\%02x", $0) }.joined()
        let call =
            "(drop (call $http_call (i32.const 0x100) (i32.const 4) (i32.const 0x200) (i32.const \(CalloutProbe.requestPairs.count)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x50)))"
        let module = WATModule.module(
            """
            (data (i32.const 0x100) "auth")
            (data (i32.const 0x200) "\(pairs)")
            (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) \(call) (i32.const 1))
            (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32) \(call))
            """, imports: #"(import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#)
        let path = try temporaryModuleFile(try wasm(module))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let scenario = try Scenario.load(
            yaml: """
                proxies:
                  - name: a
                    plugins: [{name: loop, module: \(path)}]
                    upstreams: {auth: {http: {status: 200, latency_ms: 1}}}
                traffic:
                  - http: {through: [a]}
                """, file: "s.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
        let runner = try ScenarioRunner(scenario: scenario)
        runner.run()
        #expect(runner.httpOutcomes[0].heldBy == "a/loop")
        #expect(runner.proxies[0].proxy.upstreams.httpRequests.count == ScenarioRunner.maxCalloutAnswersPerRequest + 1)
    }
}
