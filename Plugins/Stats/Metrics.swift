import ProxyWasm
import TelemetryCore

/// Where a metric's recorded value comes from.
enum MetricValue {
    case one
    case durationMilliseconds
    case requestBytes
    case responseBytes
    case expression(Expression)
    /// TCP: deltas since the last report.
    case tcpSentBytes
    case tcpReceivedBytes
    case tcpOpened
    case tcpClosed
    /// gRPC: message counts since the last report (Envoy's grpc_stats filter state).
    case grpcRequestMessages
    case grpcResponseMessages
}

/// Where a tag's value comes from.
enum TagValue {
    case standard(IstioLabel)
    /// A parsed expression and its source text (identical texts are evaluated once per report).
    case expression(Expression, String)
}

struct Tag {
    var name: String
    var value: TagValue
    var removed = false

    /// Same name and same value source: two metrics with equal tag lists get
    /// equal tag values in one report.
    func sameSource(as other: Tag) -> Bool {
        guard UTF8Text.equal(name, other.name) else { return false }
        switch (value, other.value) {
        case let (.standard(a), .standard(b)): return a == b
        case let (.expression(_, a), .expression(_, b)): return UTF8Text.equal(a, b)
        default: return false
        }
    }
}

/// One metric after configuration: Istio's `MetricFactory`.
struct MetricFactory {
    var name: String
    var type: MetricType
    var value: MetricValue
    var tags: [Tag]
    /// TCP metrics are reported for connections, the others for HTTP streams.
    var isTCP = false
    /// Reported for gRPC streams only, also on ticks (Istio's recurrent metrics).
    var isGRPCMessages = false

    /// The tags the metric carries, in order (set by `MetricPlan.build`).
    var activeTags: [Tag] = []
    /// Metrics with the same group have identical tag lists, so one report
    /// encodes their stat-name prefix once (set by `MetricPlan.build`).
    var tagGroup = 0
    /// The stat-name prefix new label sets report under once the plugin's
    /// bound on label sets is reached (set at configure time).
    var overflowPrefix: [UInt8] = []
}

/// Builds the metric list with Istio's customization rules (`initializeDimensions`).
enum MetricPlan {
    static func standardMetrics() -> [MetricFactory] {
        let tags = IstioLabel.allCases.map { Tag(name: $0.name, value: .standard($0)) }
        let tcpTags = Array(tags.prefix(IstioLabel.tcpLabelCount))
        return [
            MetricFactory(name: "requests_total", type: .counter, value: .one, tags: tags),
            MetricFactory(name: "request_duration_milliseconds", type: .histogram, value: .durationMilliseconds, tags: tags),
            MetricFactory(name: "request_bytes", type: .histogram, value: .requestBytes, tags: tags),
            MetricFactory(name: "response_bytes", type: .histogram, value: .responseBytes, tags: tags),
            MetricFactory(
                name: "request_messages_total", type: .counter, value: .grpcRequestMessages,
                tags: Array(tags.prefix(IstioLabel.peerLabelCount)), isGRPCMessages: true),
            MetricFactory(
                name: "response_messages_total", type: .counter, value: .grpcResponseMessages,
                tags: Array(tags.prefix(IstioLabel.peerLabelCount)), isGRPCMessages: true),
            MetricFactory(name: "tcp_sent_bytes_total", type: .counter, value: .tcpSentBytes, tags: tcpTags, isTCP: true),
            MetricFactory(name: "tcp_received_bytes_total", type: .counter, value: .tcpReceivedBytes, tags: tcpTags, isTCP: true),
            MetricFactory(name: "tcp_connections_opened_total", type: .counter, value: .tcpOpened, tags: tcpTags, isTCP: true),
            MetricFactory(name: "tcp_connections_closed_total", type: .counter, value: .tcpClosed, tags: tcpTags, isTCP: true),
        ]
    }

    /// Applies definitions then overrides; returns the metrics, warnings
    /// (Istio logs and goes on) and errors (the configuration is refused: an
    /// expression beyond `ExpressionLimits`, which Istio would accept and then
    /// fail on at request time, or one naming a function, method or attribute
    /// that could never give a value).
    static func build(_ configuration: StatsConfiguration) -> (metrics: [MetricFactory], warnings: [String], errors: [String]) {
        var metrics = standardMetrics()
        var warnings: [String] = []
        var errors: [String] = []
        for definition in configuration.definitions {
            let value: Expression
            do throws(ExpressionSyntaxError) { value = try Expression.parse(definition.value) } catch {
                if error.refusesConfiguration {
                    errors.append("definition \(definition.name): value \(error.message)")
                } else {
                    warnings.append("definition \(definition.name): cannot parse value \"\(definition.value)\" \(error.message)")
                }
                continue
            }
            if let index = metrics.firstIndex(where: { UTF8Text.equal($0.name, definition.name) }) {
                metrics[index].value = .expression(value)  // a standard metric keeps its tags
            } else {
                metrics.append(MetricFactory(name: definition.name, type: definition.metricType, value: .expression(value), tags: []))
            }
        }
        for override in configuration.overrides {
            var targets: [Int] = []
            for (index, metric) in metrics.enumerated() where override.name.isEmpty || UTF8Text.equal(metric.name, override.name) {
                targets.append(index)
            }
            if override.drop {
                for index in targets.reversed() { metrics.remove(at: index) }
                continue
            }
            for index in targets {
                for tag in override.tagsToRemove {
                    if let position = metrics[index].tags.firstIndex(where: { UTF8Text.equal($0.name, tag) }) {
                        metrics[index].tags[position].removed = true
                    }
                }
                for dimension in override.dimensions {
                    let position = metrics[index].tags.firstIndex(where: { UTF8Text.equal($0.name, dimension.key) })
                    do throws(ExpressionSyntaxError) {
                        let expression = try Expression.parse(dimension.value)
                        if let position {
                            metrics[index].tags[position].value = .expression(expression, dimension.value)
                            metrics[index].tags[position].removed = false
                        } else {
                            metrics[index].tags.append(Tag(name: dimension.key, value: .expression(expression, dimension.value)))
                        }
                    } catch {
                        if error.refusesConfiguration {
                            errors.append("dimension \(dimension.key) of \(metrics[index].name): \(error.message)")
                            continue
                        }
                        warnings.append(
                            "dimension \(dimension.key) of \(metrics[index].name): cannot parse \"\(dimension.value)\" \(error.message); the tag is removed"
                        )
                        if let position { metrics[index].tags[position].removed = true }
                    }
                }
            }
        }
        return (grouped(metrics), warnings, errors)
    }

    /// Fixes each metric's active tags and numbers the distinct tag lists.
    static func grouped(_ metrics: [MetricFactory]) -> [MetricFactory] {
        var result = metrics
        var representatives: [[Tag]] = []
        for index in result.indices {
            let active = result[index].tags.filter { !$0.removed }
            result[index].activeTags = active
            if let group = representatives.firstIndex(where: { same($0, active) }) {
                result[index].tagGroup = group
            } else {
                result[index].tagGroup = representatives.count
                representatives.append(active)
            }
        }
        return result
    }

    static func same(_ a: [Tag], _ b: [Tag]) -> Bool {
        guard a.count == b.count else { return false }
        for index in a.indices where !a[index].sameSource(as: b[index]) { return false }
        return true
    }
}

extension StatsConfiguration.Definition {
    /// The SDK's metric type for the kind the configuration names.
    var metricType: MetricType {
        switch type {
        case .counter: return .counter
        case .gauge: return .gauge
        case .histogram: return .histogram
        }
    }
}
