import ArgumentParser
import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmWasmKit
import Yams

/// `proxy-wasm-host`: validate modules like Envoy, run scenarios, read traces.
public struct ProxyWasmHostCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "proxy-wasm-host",
        abstract: "Run proxy-wasm modules in-process, the way Envoy runs them.",
        version: "proxy-wasm-host \(ProjectVersion.text)",
        subcommands: [ValidateCommand.self, RunCommand.self, TraceCommand.self, EnvoyConfigCommand.self])

    public init() {}
}

/// The `--fuel` option of `run` and `validate`.
enum FuelOption {
    /// 20M wasm operators: 20-60x what the project's plugins need in their
    /// costliest callback, and a runaway guest stops in about 5 s in a debug
    /// build (well under 1 s in release).
    static let defaultFuel: UInt64 = 20_000_000
    static let help = ArgumentHelp("Wasm operators one callback (or a start function) may run before it is stopped as a runaway.")
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

public struct ValidateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a module as Envoy would load it: ABI version, imports, exports, signatures.")

    @Argument(help: "The .wasm module.") var module: String
    @Option(name: .long, help: FuelOption.help) var fuel: UInt64 = FuelOption.defaultFuel

    public init() {}

    public func run() throws {
        guard let data = FileManager.default.contents(atPath: module) else {
            printError("cannot read \(module)")
            throw ExitCode(2)
        }
        let vm = PluginVM(proxy: Proxy(name: "validate"), vmID: "validate")
        do {
            let guest = try WasmKitGuest.load([UInt8](data), into: vm, limits: GuestLimits(fuelPerCallback: fuel))
            print("\(module): loads in Envoy's ABI \(guest.report.abiVersion?.name ?? "?")")
            print(guest.report.summary)
        } catch let error as ModuleLoadError {
            print("\(module): would be refused by Envoy")
            print(error.report.summary)
            throw ExitCode(1)
        } catch let error as PluginStartError {
            print("\(module): start functions failed: \(error)")
            throw ExitCode(1)
        }
    }
}

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

public struct TraceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Read ABI traces.", subcommands: [Show.self, Diff.self, Render.self])

    public init() {}

    static func read(_ path: String) throws -> [TraceEvent] {
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("cannot read \(path)")
            throw ExitCode(2)
        }
        do {
            return try TraceFormat.parse(String(decoding: data, as: UTF8.self))
        } catch {
            printError("\(path): \(error)")
            throw ExitCode(2)
        }
    }

    public struct Show: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Render a trace, one crossing per line.",
            discussion: """
                Values are decoded by type when the trace was recorded (integers, booleans, durations, maps, \
                strings); control bytes are always escaped. Values longer than --width characters are shortened \
                unless --full is given. --request N or --connection N follows one request or connection of a \
                scenario across every proxy and plugin it crossed.
                """)
        @Argument(help: "A JSON-lines trace.") var trace: String
        @Option(help: "Only events whose name contains this.") var filter: String?
        @Option(help: "Only the crossings of this request of the scenario (1 is the first).") var request: Int?
        @Option(help: "Only the crossings of this TCP connection of the scenario (1 is the first).") var connection: Int?
        @Option(help: "Only events of VMs whose source (proxy/plugin) contains this.") var source: String?
        @Option(help: "Shorten values longer than this many characters.") var width = 120
        @Flag(help: "Show values in full.") var full = false

        public init() {}

        public func validate() throws {
            if request != nil && connection != nil { throw ValidationError("give --request or --connection, not both") }
            if width < 1 { throw ValidationError("--width must be at least 1") }
        }

        public func run() throws {
            var events = try TraceCommand.read(trace)
            if let filter { events = events.filter { $0.name.contains(filter) } }
            if let source { events = events.filter { $0.source?.contains(source) == true } }
            if let exchange = request.map({ "request \($0)" }) ?? connection.map({ "connection \($0)" }) {
                events = events.filter { $0.exchange == exchange }
                if events.isEmpty {
                    printError("\(trace): no crossings of \(exchange)")
                    throw ExitCode(1)
                }
            }
            print(TraceFormat.render(events, valueLimit: full ? nil : width), terminator: "")
        }
    }

    public struct Render: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Draw a request's crossings as a sequence diagram (a self-contained HTML page).",
            discussion: """
                Lanes: each proxy's host and each plugin VM on it; arrows: callbacks (host -> plugin) and host calls \
                (plugin -> host) with their statuses. By default the first request of a scenario trace (or the whole \
                trace when it has none); at most \(TraceDiagram.maxRows) crossings are drawn.
                """)
        @Argument(help: "A JSON-lines trace.") var trace: String
        @Option(name: [.short, .long], help: "Where to write the page (default: the trace's name with .html).") var output: String?
        @Option(help: "The request of the scenario to draw (1 is the first).") var request: Int?
        @Option(help: "The TCP connection of the scenario to draw (1 is the first).") var connection: Int?
        @Flag(help: "Draw every crossing of the trace.") var all = false

        public init() {}

        public func validate() throws {
            if [request != nil, connection != nil, all].filter({ $0 }).count > 1 {
                throw ValidationError("give one of --request, --connection, --all")
            }
        }

        public func run() throws {
            let events = try TraceCommand.read(trace)
            var selected = events
            var title = "\(trace): all crossings"
            let exchange =
                request.map { "request \($0)" } ?? connection.map { "connection \($0)" }
                ?? (all ? nil : events.compactMap(\.exchange).first)
            if let exchange {
                selected = events.filter { $0.exchange == exchange }
                title = "\(trace): \(exchange)"
                if selected.isEmpty {
                    printError("\(trace): no crossings of \(exchange)")
                    throw ExitCode(1)
                }
            }
            let path = output ?? (trace.hasSuffix(".jsonl") ? String(trace.dropLast(".jsonl".count)) : trace) + ".html"
            try TraceDiagram.html(selected, title: title).write(toFile: path, atomically: true, encoding: .utf8)
            print("\(path): \(title) (\(selected.count) crossings)")
        }
    }

    public struct Diff: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Compare two traces, ignoring what must differ (sequence numbers, wall time, context numbering).",
            discussion: """
                The traces are aligned crossing by crossing (kind, VM, function, depth): `-` marks an event only \
                in EXPECTED, `+` one only in ACTUAL, `~` an event in both whose fields differ, followed by one \
                line per differing field. Exit status 1 when they differ.
                """)
        @Argument var expected: String
        @Argument var actual: String
        @Option(help: "Shorten values longer than this many characters.") var width = 120
        @Flag(help: "Show values in full.") var full = false

        public init() {}

        public func run() throws {
            let left = TraceFormat.normalizingContextIDs(try TraceCommand.read(expected))
            let right = TraceFormat.normalizingContextIDs(try TraceCommand.read(actual))
            let changes = TraceDiff.compare(left, right)
            if changes.isEmpty {
                print("traces match (\(left.count) events)")
                return
            }
            for change in changes { print(TraceDiff.describe(change, left, right, valueLimit: full ? nil : width)) }
            var deleted = 0
            var inserted = 0
            var changed = 0
            for change in changes {
                switch change {
                case .deleted: deleted += 1
                case .inserted: inserted += 1
                case .changed: changed += 1
                }
            }
            print("\(deleted) deleted, \(inserted) inserted, \(changed) changed (\(left.count) expected events, \(right.count) actual)")
            throw ExitCode(1)
        }
    }
}
