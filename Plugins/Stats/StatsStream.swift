import ProxyWasm
import TelemetryCore

/// One HTTP stream: protocol and host captured on request headers; the
/// report happens in the access-log phase, when every property is final.
final class StatsStream: HttpContext {
    let root: StatsRoot
    let reporter: StreamReporter
    private var isGRPC = false
    private var host: String?

    init(id: UInt32, root: StatsRoot) {
        self.root = root
        self.reporter = StreamReporter(root: root)
        super.init(id: id, rootID: root.id)
    }

    override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        if let contentType = try? HeaderMap.requestHeaders.valueBytes("content-type") {
            isGRPC = contentType == Array("application/grpc".utf8) || contentType == Array("application/grpc+proto".utf8)
                || contentType == Array("application/grpc+json".utf8)
        }
        if !root.configuration.disableHostHeaderFallback {
            host = (try? Properties.string(["request", "host"])) ?? nil
        }
        return .continue
    }

    override func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        if isGRPC { root.grpcStreams[id] = self }
        return .continue
    }

    override func onLog() {
        root.grpcStreams[id] = nil
        report()
    }

    override func onDelete() { root.grpcStreams[id] = nil }

    /// Message counts already reported.
    private var reportedRequestMessages: UInt64 = 0
    private var reportedResponseMessages: UInt64 = 0

    /// Envoy's grpc_stats filter state: "<request messages>,<response messages>".
    private func messageCounts() -> (UInt64, UInt64)? {
        guard let text = (try? Properties.string(["filter_state", "envoy.filters.http.grpc_stats"])) ?? nil else { return nil }
        let parts = text.split(separator: ",")
        guard parts.count == 2, let request = UInt64(parts[0]), let response = UInt64(parts[1]) else { return nil }
        return (request, response)
    }

    /// Deltas of the message counts since the last report.
    private func messageDeltas() -> (UInt64, UInt64) {
        guard let (request, response) = messageCounts() else { return (0, 0) }
        let deltas = (request >= reportedRequestMessages ? request - reportedRequestMessages : 0,
                      response >= reportedResponseMessages ? response - reportedResponseMessages : 0)
        reportedRequestMessages = max(reportedRequestMessages, request)
        reportedResponseMessages = max(reportedResponseMessages, response)
        return deltas
    }

    /// Tick: gRPC message counters only (Istio's recurrent HTTP metrics).
    func reportMessages() {
        try? StreamControl.setEffectiveContext(id)
        let (requests, responses) = messageDeltas()
        if requests == 0 && responses == 0 { return }
        var facts = reporter.facts()
        facts.isGRPC = true
        facts.host = host
        let peerLabels = reporter.peerLabels()
        let labels = IstioStats.labels(outbound: root.outbound, local: root.local, peer: peerLabels, facts: facts,
                                       localCanonicalService: root.localCanonicalService)
        root.emit(tcp: false, labels: labels, environment: reporter, include: { $0.isGRPCMessages }) { source in
            switch source {
            case .grpcRequestMessages: return requests
            case .grpcResponseMessages: return responses
            default: return nil
            }
        }
    }

    private func report() {
        var facts = reporter.facts()
        facts.isGRPC = isGRPC
        facts.host = host
        if isGRPC { facts.grpcStatus = (try? Properties.int64(["response", "grpc_status"])) ?? nil }
        let peerLabels = reporter.peerLabels()
        let labels = IstioStats.labels(outbound: root.outbound, local: root.local, peer: peerLabels, facts: facts,
                                       localCanonicalService: root.localCanonicalService)
        let durationNanos = ((try? Properties.int64(["request", "duration"])) ?? nil) ?? 0
        let (requestMessages, responseMessages) = isGRPC ? messageDeltas() : (0, 0)
        root.emit(tcp: false, labels: labels, environment: reporter, include: { !$0.isGRPCMessages || self.isGRPC }) { source in
            switch source {
            case .one: return 1
            case .durationMilliseconds: return UInt64(max(0, durationNanos / 1_000_000))
            case .requestBytes: return UInt64(max(0, ((try? Properties.int64(["request", "total_size"])) ?? nil) ?? 0))
            case .responseBytes: return UInt64(max(0, ((try? Properties.int64(["response", "total_size"])) ?? nil) ?? 0))
            case let .expression(expression):
                guard case let .int(number)? = expression.evaluate(self.reporter), number >= 0 else { return nil }
                return UInt64(number)
            case .grpcRequestMessages: return requestMessages
            case .grpcResponseMessages: return responseMessages
            case .tcpSentBytes, .tcpReceivedBytes, .tcpOpened, .tcpClosed: return nil
            }
        }
    }
}
