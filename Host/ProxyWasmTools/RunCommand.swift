import ArgumentParser
import ProxyWasmHost
import ProxyWasmWasmKit

/// `run`: a scenario through the host, with its metrics, summary, cost and trace.
public struct RunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: proxies with plugins, then HTTP and TCP traffic through them.")

    @Argument(help: "The scenario YAML file.") var scenario: String
    @Option(name: .long, help: "Write the ABI trace here as JSON lines.") var trace: String?
    @Flag(name: .long, help: "Print only the Prometheus text of each proxy.") var prometheusOnly = false
    @Option(name: .customLong("family"), help: "Print only these metric families (repeatable).") var families: [String] = []
    @Option(name: .long, help: FuelOption.help) var fuel: UInt64 = FuelOption.defaultFuel
    @Flag(name: .long, help: "Print the wasm operators each plugin ran, by callback and per request or connection.") var cost = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Print each plugin's N costliest guest functions during the traffic (wasm operators, own and inclusive).",
            valueName: "N")) var profile: Int?

    public init() {}

    public func run() throws {
        let parsed: Scenario
        do {
            parsed = try Scenario.load(path: scenario)
        } catch let error as ScenarioError {
            printError(error.description)
            throw ExitCode(2)
        }
        let recorder = TraceRecorder(enabled: trace != nil)
        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(
                scenario: parsed, trace: recorder,
                limits: GuestLimits(fuelPerCallback: fuel, profilesFunctions: profile != nil))
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let startup = CostReport.snapshot(runner)
        CostReport.resetProfiles(runner)
        runner.run()
        if cost { print(CostReport(runner: runner, startup: startup).text, terminator: "") }
        if let profile { print(CostReport.profileText(runner, top: profile), terminator: "") }
        if !prometheusOnly {
            for (index, outcome) in runner.httpOutcomes.enumerated() {
                let detail =
                    outcome.heldBy.map { " (held by \($0): no call-out answer left to wait for)" }
                    ?? outcome.localReplyDetails.map { " (local reply: \($0))" } ?? ""
                print("http #\(index + 1): \(outcome.status)\(detail)")
            }
            for (index, outcome) in runner.tcpOutcomes.enumerated() {
                print(
                    "tcp #\(index + 1): upstream received \(outcome.receivedByUpstream.count) bytes, downstream received \(outcome.receivedByDownstream.count) bytes"
                )
            }
        }
        let texts = runner.prometheus()
        if !prometheusOnly {
            for (proxy, text) in texts {
                let summary = TrafficSummary(prometheus: text).text
                if !summary.isEmpty { print("# proxy \(proxy): traffic\n" + summary, terminator: "") }
            }
        }
        for (proxy, text) in texts {
            print("# proxy \(proxy): /stats/prometheus")
            if families.isEmpty {
                print(text, terminator: "")
                continue
            }
            for line in text.split(separator: "\n") {
                let name = line.hasPrefix("# TYPE ") ? String(line.split(separator: " ")[2]) : String(line.prefix { $0 != "{" && $0 != " " })
                if families.contains(where: { name == $0 || name.hasPrefix($0 + "_") }) { print(line) }
            }
        }
        if !prometheusOnly {
            for running in runner.proxies {
                for line in running.proxy.logs {
                    print("[\(running.spec.name)] [\(line.level.name)] \(line.vmID): \(line.message)")
                }
                for plugin in running.plugins {
                    if let failure = plugin.vm.failure {
                        print("[\(running.spec.name)] plugin \(plugin.spec.name) FAILED in \(failure.callback): \(failure.message)")
                    }
                    for call in Set(plugin.vm.unimplementedCalls).sorted() {
                        print("[\(running.spec.name)] plugin \(plugin.spec.name) called \(call), which this host does not implement")
                    }
                    if !plugin.vm.answers.isEmpty {
                        print("[\(running.spec.name)] plugin \(plugin.spec.name) answered: \(plugin.vm.answers.summary)")
                    }
                }
            }
        }
        if let trace {
            try recorder.jsonLines().write(toFile: trace, atomically: true, encoding: .utf8)
            if !prometheusOnly { print("trace: \(trace) (\(recorder.events.count) events; read it with `proxy-wasm-host trace show \(trace)`)") }
        }
        // A VM that failed is a failed run, whatever else was printed.
        var failed = false
        for running in runner.proxies {
            for plugin in running.plugins {
                guard let failure = plugin.vm.failure else { continue }
                printError(
                    "proxy-wasm-host: plugin \(plugin.spec.name) on proxy \(running.spec.name) failed in \(failure.callback): \(failure.message)")
                failed = true
            }
        }
        if failed { throw ExitCode(3) }
    }
}
