/// What a person wants first from a proxy's Istio series: per reporter,
/// source -> destination workload and response code, the requests counted and
/// latency percentiles from `istio_request_duration_milliseconds`. Read from
/// the proxy's `/stats/prometheus` text (tags already extracted), so it shows
/// what a dashboard would.
public struct TrafficSummary {
    /// One row: a (reporter, source, destination, code) and what it saw.
    public struct Row: Equatable {
        public var reporter: String
        public var source: String
        public var destination: String
        public var code: String
        public var requests: Double
        /// Bucket upper bounds (ms) below which 50, 90 and 99 % of the requests fell; nil without a histogram.
        public var percentiles: (p50: Double, p90: Double, p99: Double)?

        public static func == (a: Row, b: Row) -> Bool {
            a.reporter == b.reporter && a.source == b.source && a.destination == b.destination && a.code == b.code
                && a.requests == b.requests && a.percentiles?.p50 == b.percentiles?.p50
                && a.percentiles?.p90 == b.percentiles?.p90 && a.percentiles?.p99 == b.percentiles?.p99
        }
    }

    public let rows: [Row]

    /// The rows of one proxy's Prometheus text, in the order they first appear;
    /// series that differ only in other labels (protocol, principals, ...) add up.
    public init(prometheus text: String) {
        var order: [String] = []
        var rows: [String: Row] = [:]
        var buckets: [String: [Double: Double]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = Self.sample(line) else { continue }
            let labels = sample.labels
            let destination =
                labels["destination_workload"].flatMap { $0 == "unknown" ? nil : $0 }
                ?? labels["destination_service_name"] ?? "unknown"
            let row = Row(
                reporter: labels["reporter"] ?? "unknown", source: labels["source_workload"] ?? "unknown",
                destination: destination, code: labels["response_code"] ?? "unknown", requests: 0, percentiles: nil)
            let key = Self.rowKey(row)
            if sample.name == "istio_requests_total" {
                if rows[key] == nil {
                    order.append(key)
                    rows[key] = row
                }
                rows[key]!.requests += sample.value
            } else if sample.name == "istio_request_duration_milliseconds_bucket", let bound = labels["le"] {
                buckets[key, default: [:]][bound == "+Inf" ? .infinity : Double(bound) ?? .infinity, default: 0] += sample.value
            }
        }
        self.rows = order.map { key in
            var row = rows[key]!
            let cumulative = (buckets[key] ?? [:]).sorted { $0.key < $1.key }
            if let total = cumulative.last?.value, total > 0 {
                func quantile(_ q: Double) -> Double { cumulative.first { $0.value >= q * total }?.key ?? .infinity }
                row.percentiles = (quantile(0.5), quantile(0.9), quantile(0.99))
            }
            return row
        }
    }

    /// The table, one line per row under a header; empty without Istio series.
    public var text: String {
        guard !rows.isEmpty else { return "" }
        func number(_ value: Double) -> String {
            if value == .infinity { return "+Inf" }
            return value == value.rounded() ? String(Int64(value)) : String(value)
        }
        var table = [["reporter", "source -> destination", "code", "requests", "p50 ms", "p90 ms", "p99 ms"]]
        for row in rows {
            let p = row.percentiles
            table.append([
                row.reporter, "\(row.source) -> \(row.destination)", row.code, number(row.requests),
                p.map { "≤" + number($0.p50) } ?? "-", p.map { "≤" + number($0.p90) } ?? "-", p.map { "≤" + number($0.p99) } ?? "-",
            ])
        }
        let widths = (0..<table[0].count).map { column in table.map { $0[column].count }.max() ?? 0 }
        return table.map { cells in
            "  "
                + cells.enumerated().map { index, cell in
                    index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
                }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// `name{a="x",b="y"} value`: the name, labels (quotes and backslashes unescaped) and value.
    static func sample(_ line: Substring) -> (name: String, labels: [String: String], value: Double)? {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let open = series.firstIndex(of: "{") else { return (String(series), [:], value) }
        var labels: [String: String] = [:]
        var index = series.index(after: open)
        while index < series.endIndex, series[index] != "}" {
            guard let equals = series[index...].firstIndex(of: "=") else { return nil }
            let name = String(series[index..<equals])
            var cursor = series.index(equals, offsetBy: 2)  // past ="
            var text = ""
            while cursor < series.endIndex, series[cursor] != "\"" {
                if series[cursor] == "\\", series.index(after: cursor) < series.endIndex {
                    cursor = series.index(after: cursor)
                    text.append(series[cursor] == "n" ? "\n" : series[cursor])
                } else {
                    text.append(series[cursor])
                }
                cursor = series.index(after: cursor)
            }
            labels[name] = text
            index = series.index(after: cursor)
            if index < series.endIndex, series[index] == "," { index = series.index(after: index) }
        }
        return (String(series[..<open]), labels, value)
    }

    static func rowKey(_ row: Row) -> String {
        [row.reporter, row.source, row.destination, row.code].joined(separator: "\u{0}")
    }
}
