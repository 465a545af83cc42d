/// The host calls a VM answered with something other than a value: NotFound,
/// Unimplemented, or refused by a capability restriction. `proxy-wasm-host
/// run` prints one line per plugin from it, so a user sees at once why a
/// third-party module behaves differently from what they expected (an
/// attribute the scenario does not set, a foreign function this host lacks).
public struct HostAnswerTally: Sendable, Equatable {
    /// What was asked and how it was answered.
    public struct Entry: Hashable, Sendable {
        public let status: String
        /// The call and what it named (`proxy_get_property request.flags`).
        public let call: String
    }

    /// Distinct entries kept; later ones are counted under `othersCount`.
    public static let limit = 256

    public private(set) var counts: [Entry: Int] = [:]
    public private(set) var othersCount = 0

    public var isEmpty: Bool { counts.isEmpty && othersCount == 0 }

    mutating func record(status: String, call: String) {
        let entry = Entry(status: status, call: call)
        if let count = counts[entry] {
            counts[entry] = count + 1
        } else if counts.count < Self.limit {
            counts[entry] = 1
        } else {
            othersCount += 1
        }
    }

    /// `NotFound 12 (proxy_get_property request.flags x10, ...); refused 1 (...)`,
    /// statuses and calls ordered by count, then name.
    public var summary: String {
        var byStatus: [String: [(String, Int)]] = [:]
        for (entry, count) in counts { byStatus[entry.status, default: []].append((entry.call, count)) }
        var parts: [String] = []
        for status in byStatus.keys.sorted() {
            let calls = byStatus[status]!.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            let total = calls.reduce(0) { $0 + $1.1 }
            parts.append("\(status) \(total) (" + calls.map { "\($0.0) x\($0.1)" }.joined(separator: ", ") + ")")
        }
        if othersCount > 0 { parts.append("\(othersCount) more of other calls") }
        return parts.joined(separator: "; ")
    }
}
