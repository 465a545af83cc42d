import ProxyWasmHost

/// A trace as a sequence diagram: a self-contained HTML page holding one SVG,
/// with a lane for each proxy's host and one for each plugin VM, an arrow per
/// crossing (callbacks host -> plugin, host calls plugin -> host, statuses
/// coloured), and a band where the traffic moves to the next request or
/// connection. Nothing is fetched: the page opens from disk or as an artefact.
public enum TraceDiagram {
    /// Rows drawn at most; a longer selection ends with a note saying how many were left out.
    public static let maxRows = 4000

    /// A lane: a proxy's host (`plugin` nil) or one plugin VM on it.
    struct Lane: Equatable {
        let proxy: String
        let plugin: String?
        var title: String { plugin.map { "\(proxy)/\($0)" } ?? "\(proxy) (host)" }
    }

    /// The lanes of `events`, each proxy's host first, then its plugins, in order of appearance.
    static func lanes(_ events: [TraceEvent]) -> [Lane] {
        var proxies: [String] = []
        var plugins: [String: [String]] = [:]
        for event in events {
            let (proxy, plugin) = split(event.source)
            if !proxies.contains(proxy) { proxies.append(proxy) }
            if !(plugins[proxy] ?? []).contains(plugin) { plugins[proxy, default: []].append(plugin) }
        }
        return proxies.flatMap { proxy in [Lane(proxy: proxy, plugin: nil)] + (plugins[proxy] ?? []).map { Lane(proxy: proxy, plugin: $0) } }
    }

    /// `proxy/plugin` -> (proxy, plugin); a VM without a source is `plugin` on `host`.
    static func split(_ source: String?) -> (proxy: String, plugin: String) {
        guard let source, let slash = source.firstIndex(of: "/") else { return ("host", source ?? "plugin") }
        return (String(source[..<slash]), String(source[source.index(after: slash)...]))
    }

    static let laneWidth = 230, rowHeight = 24, top = 60, margin = 20

    /// The argument that tells calls of one function apart, shown on the arrow.
    static let keyArguments = ["path", "key", "function", "name", "metric", "queue", "cluster"]

    /// The page for `events` (already selected), titled `title`.
    public static func html(_ events: [TraceEvent], title: String) -> String {
        let shown = Array(events.prefix(maxRows))
        let lanes = lanes(shown)
        func center(_ lane: Lane) -> Int { margin + laneWidth / 2 + (lanes.firstIndex(of: lane) ?? 0) * laneWidth }
        var rows: [String] = []
        var y = top
        var exchange: String?
        for event in shown {
            if event.exchange != exchange, let next = event.exchange {
                rows.append(
                    #"<g class="exchange"><rect x="0" y="\#(y)" width="\#(margin * 2 + lanes.count * laneWidth)" height="\#(rowHeight)"/>"#
                        + #"<text x="\#(margin)" y="\#(y + 16)">\#(escaped(next))</text></g>"#)
                y += rowHeight
            }
            exchange = event.exchange
            let (proxy, plugin) = split(event.source)
            let host = center(Lane(proxy: proxy, plugin: nil))
            let guest = center(Lane(proxy: proxy, plugin: plugin))
            rows.append(row(event, host: host, guest: guest, y: y))
            y += rowHeight
        }
        if events.count > shown.count {
            rows.append(#"<text class="note" x="\#(margin)" y="\#(y + 16)">\#(events.count - shown.count) more events not drawn</text>"#)
            y += rowHeight
        }
        let width = margin * 2 + max(1, lanes.count) * laneWidth
        let height = y + margin
        var laneMarks: [String] = []
        for lane in lanes {
            let x = center(lane)
            laneMarks.append(
                #"<g class="lane \#(lane.plugin == nil ? "host" : "plugin")" data-lane="\#(escaped(lane.title))">"#
                    + #"<rect x="\#(x - laneWidth / 2 + 6)" y="6" width="\#(laneWidth - 12)" height="40" rx="4"/>"#
                    + #"<text x="\#(x)" y="22" text-anchor="middle">\#(escaped(lane.proxy))</text>"#
                    + #"<text class="role" x="\#(x)" y="38" text-anchor="middle">\#(escaped(lane.plugin ?? "host"))</text>"#
                    + #"<line x1="\#(x)" y1="46" x2="\#(x)" y2="\#(height - margin)"/></g>"#)
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escaped(title))</title>
            <style>
            body { font: 12px ui-monospace, Menlo, Consolas, monospace; margin: 16px; color: #222; }
            h1 { font-size: 15px; } p { max-width: 900px; }
            .lane rect { fill: #eef3fb; stroke: #6b8fc7; } .lane.host rect { fill: #f3f0e8; stroke: #a08c5b; }
            .lane line { stroke: #bbb; stroke-dasharray: 4 3; } .lane text { font-weight: bold; } .lane text.role { font-weight: normal; }
            .exchange rect { fill: #f6f6f6; } .exchange text { fill: #555; font-weight: bold; }
            .crossing line { stroke-width: 1.4; } .crossing text { font-size: 11px; }
            .callback line { stroke: #2f5fb3; } .callback text { fill: #2f5fb3; }
            .hostcall line { stroke: #333; } .hostcall.notfound line, .hostcall.notfound text { stroke: #b36b00; fill: #b36b00; }
            .hostcall.failed line, .hostcall.failed text, .event text { fill: #b00020; stroke: #b00020; }
            .hostcall text { fill: #333; stroke: none; } .hostcall.notfound text, .hostcall.failed text { stroke: none; }
            </style></head><body>
            <h1>\(escaped(title))</h1>
            <p>\(shown.count) crossings. Callbacks (blue) go from the host to a plugin, host calls (black; NotFound amber, \
            other failures red) from a plugin to the host; hover over an arrow for its arguments and result.</p>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
            <defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">\
            <path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>
            \(laneMarks.joined(separator: "\n"))
            \(rows.joined(separator: "\n"))
            </svg>
            <script>
            // Marks each lane with the width the browser laid it out at, so a check can tell a drawn page from text.
            for (const lane of document.querySelectorAll("g.lane")) lane.dataset.renderedWidth = Math.round(lane.getBBox().width);
            document.body.dataset.lanes = document.querySelectorAll("g.lane").length;
            document.body.dataset.crossings = document.querySelectorAll("g.crossing").length;
            </script>
            </body></html>

            """
    }

    /// One crossing: an arrow between the host's lane and the plugin's, labelled, with the full text as a tooltip.
    static func row(_ event: TraceEvent, host: Int, guest: Int, y: Int) -> String {
        let arguments = event.args.keys.sorted().map { "\($0): \(event.args[$0]!)" }.joined(separator: ", ")
        var label = event.name
        if let key = keyArguments.first(where: { event.args[$0] != nil }) {
            label += "(" + TraceText.shortened(TraceText.controlsEscaped(event.args[key]!), limit: 48) + ")"
        }
        if let status = event.status { label += " -> " + status }
        if let result = event.result { label += " = " + TraceText.shortened(TraceText.controlsEscaped(result), limit: 32) }
        var full = "#\(event.seq) \(event.source ?? "") ctx \(event.context) \(event.name)(\(arguments))"
        if let status = event.status { full += " -> " + status }
        if let result = event.result { full += " = " + result }
        let lineY = y + rowHeight - 6
        let classes: String
        let (from, to): (Int, Int)
        switch event.kind {
        case .callback:
            classes = "crossing callback"
            (from, to) = (host, guest)
        case .hostcall:
            let status = event.status ?? "Ok"
            classes = "crossing hostcall" + (status == "Ok" ? "" : status == "NotFound" ? " notfound" : " failed")
            (from, to) = (guest, host)
        case .event:
            classes = "crossing event"
            (from, to) = (guest, guest)
        }
        let textX = min(from, to) + 8
        let visible = TraceText.shortened(label, limit: 110)
        let shape =
            from == to
            ? #"<circle cx="\#(from)" cy="\#(lineY)" r="4"/>"#
            : #"<line x1="\#(from)" y1="\#(lineY)" x2="\#(to)" y2="\#(lineY)" marker-end="url(#head)"/>"#
        return #"<g class="\#(classes)" data-seq="\#(event.seq)"><title>\#(escaped(TraceText.controlsEscaped(full)))</title>"#
            + shape + #"<text x="\#(textX)" y="\#(lineY - 4)">\#(escaped(visible))</text></g>"#
    }

    /// Text safe inside HTML elements and attribute values.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
