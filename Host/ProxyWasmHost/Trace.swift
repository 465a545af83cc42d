import Foundation

/// One ABI crossing: a callback the host made into the guest, a host call the
/// guest made, or a host-side event (VM failure, local reply, ...).
public struct TraceEvent: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Host -> guest (`proxy_on_*`, `_initialize`, the allocator).
        case callback
        /// Guest -> host (`proxy_*`, WASI).
        case hostcall
        /// Something the host did or decided (a VM failure, a local reply sent).
        case event
    }

    /// Logical clock: the position of the event in the trace.
    public var seq: Int
    public var kind: Kind
    /// Nesting depth (host calls made from inside a callback are depth 1, ...).
    public var depth: Int
    /// Which VM the crossing belongs to (`proxy/plugin` in scenarios), if several share a trace.
    public var source: String?
    /// The traffic it belongs to (`request 3`, `connection 1` in scenarios), across proxies and plugins.
    public var exchange: String?
    /// The context the crossing happened on (0: the VM context).
    public var context: UInt32
    public var name: String
    /// Decoded arguments (strings, maps, property paths, enum names), never
    /// guest addresses: those differ from build to build.
    public var args: [String: String]
    /// The returned value, decoded (`Continue`, `true`, the bytes read, ...).
    public var result: String?
    /// For host calls: the `WasmResult` name.
    public var status: String?
    /// Wall-clock time in nanoseconds since the epoch (ignored by `diff`).
    public var wallNanos: UInt64?

    public init(
        seq: Int, kind: Kind, depth: Int, source: String? = nil, exchange: String? = nil, context: UInt32, name: String,
        args: [String: String] = [:], result: String? = nil, status: String? = nil, wallNanos: UInt64? = nil
    ) {
        self.seq = seq
        self.source = source
        self.exchange = exchange
        self.kind = kind
        self.depth = depth
        self.context = context
        self.name = name
        self.args = args
        self.result = result
        self.status = status
        self.wallNanos = wallNanos
    }
}

/// Records ABI crossings. Disabled recorders cost one branch per crossing.
public final class TraceRecorder {
    public var isEnabled: Bool
    /// Record wall-clock times (off by default so traces are reproducible).
    public var recordsWallTime = false
    public private(set) var events: [TraceEvent] = []
    var depth = 0
    /// Stamped on every event recorded while set (the VM currently running).
    public var source: String?
    /// Stamped on every event recorded while set (the request or connection being driven).
    public var exchange: String?

    public init(enabled: Bool = true) { isEnabled = enabled }

    @discardableResult
    public func record(
        _ kind: TraceEvent.Kind, context: UInt32, name: String,
        args: @autoclosure () -> [String: String] = [:],
        result: @autoclosure () -> String? = nil, status: String? = nil
    ) -> Int {
        guard isEnabled else { return -1 }
        let args = args()
        let result = result()
        let wall: UInt64? = recordsWallTime ? UInt64(Date().timeIntervalSince1970 * 1e9) : nil
        events.append(
            TraceEvent(
                seq: events.count, kind: kind, depth: depth, source: source, exchange: exchange,
                context: context, name: name,
                args: args, result: result, status: status, wallNanos: wall))
        return events.count - 1
    }

    /// Fills in the result of an event recorded before the call ran.
    public func complete(_ index: Int, result: @autoclosure () -> String?) {
        guard index >= 0, index < events.count else { return }
        events[index].result = result()
    }

    public func clear() { events.removeAll() }

    /// The trace as JSON lines (one event per line, keys sorted).
    public func jsonLines() -> String { TraceFormat.jsonLines(events) }
}

/// Reading, rendering and comparing traces.
public enum TraceFormat {
    public static func jsonLines(_ events: [TraceEvent]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for event in events {
            if let data = try? encoder.encode(event) { text += String(decoding: data, as: UTF8.self) + "\n" }
        }
        return text
    }

    /// A trace line that could not be read.
    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "trace line \(line): \(reason)" }
    }

    /// Parses JSON lines; blank lines are skipped; a bad line is an error naming it.
    public static func parse(_ text: String) throws -> [TraceEvent] {
        let decoder = JSONDecoder()
        var events: [TraceEvent] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                events.append(try decoder.decode(TraceEvent.self, from: Data(trimmed.utf8)))
            } catch {
                throw ParseError(line: index + 1, reason: "not a trace event (\(error))")
            }
        }
        return events
    }

    /// One line per event, indented by depth:
    /// `#12    ctx 2  -> proxy_on_request_headers(headers: 5, end_of_stream: false) = Continue`;
    /// a line `--- request 3 ---` where the traffic changes. Values longer than
    /// `valueLimit` characters are shortened; control characters are always escaped.
    public static func render(_ events: [TraceEvent], valueLimit: Int? = nil) -> String {
        var text = ""
        var exchange: String?
        for event in events {
            if event.exchange != exchange, let next = event.exchange { text += "--- \(TraceText.escaped(next)) ---\n" }
            exchange = event.exchange
            text += render(event, valueLimit: valueLimit) + "\n"
        }
        return text
    }

    public static func render(_ event: TraceEvent, valueLimit: Int? = nil) -> String {
        let arrow: String
        switch event.kind {
        case .callback: arrow = "->"
        case .hostcall: arrow = "<-"
        case .event: arrow = "**"
        }
        func shown(_ value: String) -> String {
            let text = TraceText.controlsEscaped(value)
            return valueLimit.map { TraceText.shortened(text, limit: $0) } ?? text
        }
        let indent = String(repeating: "  ", count: event.depth)
        let arguments = event.args.keys.sorted().map { "\($0): \(shown(event.args[$0]!))" }.joined(separator: ", ")
        var line = "#\(event.seq)".padding(toLength: 6, withPad: " ", startingAt: 0)
        if let source = event.source { line += source.padding(toLength: max(source.count + 1, 16), withPad: " ", startingAt: 0) }
        line += "ctx \(event.context)".padding(toLength: 7, withPad: " ", startingAt: 0)
        line += indent + arrow + " " + event.name + "(" + arguments + ")"
        if let status = event.status { line += " -> " + status }
        if let result = event.result { line += " = " + shown(result) }
        return line
    }

    /// Renumbers contexts by order of first appearance (0, the VM context,
    /// stays 0), so traces of the same traffic compare equal even when other
    /// streams ran before them.
    public static func normalizingContextIDs(_ events: [TraceEvent]) -> [TraceEvent] {
        var mapping: [UInt32: UInt32] = [0: 0]
        return events.map { event in
            var copy = event
            if let mapped = mapping[event.context] {
                copy.context = mapped
            } else {
                let next = UInt32(mapping.count)
                mapping[event.context] = next
                copy.context = next
            }
            return copy
        }
    }

    /// Differences between two traces, aligned (`TraceDiff`): one entry per
    /// deleted, inserted or changed event, ignoring what must differ (sequence
    /// numbers and wall time; guest addresses are never recorded). Empty when equal.
    public static func diff(_ expected: [TraceEvent], _ actual: [TraceEvent], valueLimit: Int? = nil) -> [String] {
        TraceDiff.compare(expected, actual).map { TraceDiff.describe($0, expected, actual, valueLimit: valueLimit) }
    }
}
