/// Aligns two traces and says how they differ: events only in the expected
/// trace (deleted), only in the actual one (inserted), and events present in
/// both whose fields differ (changed, with each differing field named).
///
/// Two passes of Myers' difference: first over whole events (what must
/// differ, sequence numbers and wall time, left out), so four extra host calls
/// show as four insertions instead of shifting every later event; then,
/// inside each run of deletions and insertions between matching events, over
/// what a crossing is (kind, VM, function, nesting depth), so an event whose
/// arguments or result changed shows as one changed event with its fields.
public enum TraceDiff {
    /// One field of an aligned pair that differs.
    public struct FieldChange: Equatable, Sendable {
        /// `context`, `status`, `result`, `exchange` or `args.<name>`.
        public let field: String
        public let expected: String?
        public let actual: String?

        public init(field: String, expected: String?, actual: String?) {
            self.field = field
            self.expected = expected
            self.actual = actual
        }
    }

    public enum Change: Equatable, Sendable {
        case deleted(expected: Int)
        case inserted(actual: Int)
        case changed(expected: Int, actual: Int, fields: [FieldChange])
    }

    /// What aligns two events in the second pass: the same crossing, whatever its arguments.
    struct Crossing: Hashable {
        let kind: TraceEvent.Kind
        let source: String?
        let name: String
        let depth: Int

        init(_ event: TraceEvent) {
            kind = event.kind
            source = event.source
            name = event.name
            depth = event.depth
        }
    }

    /// An event without what must differ between two runs.
    static func comparable(_ event: TraceEvent) -> TraceEvent {
        var copy = event
        copy.seq = 0
        copy.wallNanos = nil
        return copy
    }

    /// The changes that turn `expected` into `actual`, in trace order; empty when they match.
    public static func compare(_ expected: [TraceEvent], _ actual: [TraceEvent]) -> [Change] {
        let (deleted, inserted) = offsets(of: actual.map(comparable).difference(from: expected.map(comparable)))
        var changes: [Change] = []
        var left = 0
        var right = 0
        while left < expected.count || right < actual.count {
            var hunkLeft: [Int] = []
            var hunkRight: [Int] = []
            while left < expected.count, deleted.contains(left) {
                hunkLeft.append(left)
                left += 1
            }
            while right < actual.count, inserted.contains(right) {
                hunkRight.append(right)
                right += 1
            }
            if hunkLeft.isEmpty && hunkRight.isEmpty {
                left += 1  // the same event on both sides
                right += 1
                continue
            }
            changes += pair(hunkLeft, hunkRight, expected, actual)
        }
        return changes
    }

    static func offsets<Element>(of difference: CollectionDifference<Element>) -> (removed: Set<Int>, inserted: Set<Int>) {
        var removed = Set<Int>()
        var inserted = Set<Int>()
        for change in difference {
            switch change {
            case let .remove(offset, _, _): removed.insert(offset)
            case let .insert(offset, _, _): inserted.insert(offset)
            }
        }
        return (removed, inserted)
    }

    /// One run of differing events: the same crossings on both sides pair up as changed events.
    static func pair(_ left: [Int], _ right: [Int], _ expected: [TraceEvent], _ actual: [TraceEvent]) -> [Change] {
        let (deleted, inserted) = offsets(of: right.map { Crossing(actual[$0]) }.difference(from: left.map { Crossing(expected[$0]) }))
        var changes: [Change] = []
        var i = 0
        var j = 0
        while i < left.count || j < right.count {
            if i < left.count, deleted.contains(i) {
                changes.append(.deleted(expected: left[i]))
                i += 1
            } else if j < right.count, inserted.contains(j) {
                changes.append(.inserted(actual: right[j]))
                j += 1
            } else {
                changes.append(.changed(expected: left[i], actual: right[j], fields: fieldChanges(expected[left[i]], actual[right[j]])))
                i += 1
                j += 1
            }
        }
        return changes
    }

    /// The fields of two aligned events that differ (not `seq` or wall time).
    static func fieldChanges(_ expected: TraceEvent, _ actual: TraceEvent) -> [FieldChange] {
        var fields: [FieldChange] = []
        func compare(_ field: String, _ left: String?, _ right: String?) {
            if left != right { fields.append(FieldChange(field: field, expected: left, actual: right)) }
        }
        compare("context", String(expected.context), String(actual.context))
        compare("exchange", expected.exchange, actual.exchange)
        for key in Set(expected.args.keys).union(actual.args.keys).sorted() {
            compare("args.\(key)", expected.args[key], actual.args[key])
        }
        compare("status", expected.status, actual.status)
        compare("result", expected.result, actual.result)
        return fields
    }

    /// A change as text: `- #12 ...` (only expected), `+ #13 ...` (only
    /// actual), `~ #14 -> #15 ...` with one `    field: old -> new` line per
    /// differing field, long values cut around where they start to differ.
    public static func describe(
        _ change: Change, _ expected: [TraceEvent], _ actual: [TraceEvent],
        valueLimit: Int? = nil
    ) -> String {
        switch change {
        case let .deleted(index):
            return "- " + TraceFormat.render(expected[index], valueLimit: valueLimit)
        case let .inserted(index):
            return "+ " + TraceFormat.render(actual[index], valueLimit: valueLimit)
        case let .changed(left, right, fields):
            var text = "~ #\(expected[left].seq) -> " + TraceFormat.render(actual[right], valueLimit: valueLimit)
            for field in fields {
                let (old, new) = window(field.expected, field.actual, limit: valueLimit)
                text += "\n    \(field.field): \(old) -> \(new)"
            }
            return text
        }
    }

    /// Two differing values as shown side by side: in full when short (or
    /// no limit), else from a little before the first differing character.
    static func window(_ expected: String?, _ actual: String?, limit: Int?) -> (String, String) {
        guard let expected, let actual else {
            return (expected.map { shown($0, limit) } ?? "(none)", actual.map { shown($0, limit) } ?? "(none)")
        }
        guard let limit, max(expected.count, actual.count) > limit else {
            return (TraceText.controlsEscaped(expected), TraceText.controlsEscaped(actual))
        }
        let common = zip(expected, actual).prefix { $0 == $1 }.count
        let start = max(0, common - 20)
        func cut(_ text: String) -> String {
            let tail = String(text.dropFirst(start))
            return (start > 0 ? "..." : "") + TraceText.shortened(TraceText.controlsEscaped(tail), limit: limit)
        }
        return (cut(expected), cut(actual))
    }

    static func shown(_ value: String, _ limit: Int?) -> String {
        let text = TraceText.controlsEscaped(value)
        return limit.map { TraceText.shortened(text, limit: $0) } ?? text
    }
}
