import ArgumentParser
import Foundation
import ProxyWasmHost

/// `trace show`, `trace diff` and `trace render`: reading recorded ABI traces.
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
