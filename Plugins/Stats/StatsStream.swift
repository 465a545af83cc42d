import ProxyWasm
import TelemetryCore

/// One HTTP stream: protocol and host captured on request headers; the
/// report happens in the access-log phase, when every property is final.
final class StatsStream: HttpContext, TickListMember {
    var tickListIndex = -1
    let root: StatsRoot
    let reporter: StreamReporter
    private var isGRPC = false
    private var host: [UInt8]?

    init(id: UInt32, root: StatsRoot) {
        self.root = root
        self.reporter = StreamReporter(root: root)
        super.init(id: id, rootID: root.id)
    }

    override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        if let contentType = try? HeaderMap.requestHeaders.valueBytes("content-type") {
            isGRPC =
                contentType == Array("application/grpc".utf8) || contentType == Array("application/grpc+proto".utf8)
                || contentType == Array("application/grpc+json".utf8)
        }
        if !root.configuration.disableHostHeaderFallback {
            host = Properties.bytes(StatsProperty.requestHost)
        }
        return .continue
    }

    override func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        if isGRPC { root.grpcStreams.insert(self) }
        return .continue
    }

    override func onLog() {
        root.grpcStreams.remove(self)
        report()
    }

    override func onDelete() { root.grpcStreams.remove(self) }

    /// Message counts already reported.
    private var reportedRequestMessages: UInt64 = 0
    private var reportedResponseMessages: UInt64 = 0

    /// Envoy's grpc_stats filter state: "<request messages>,<response messages>".
    private func messageCounts() -> (UInt64, UInt64)? {
        Properties.withValue(StatsProperty.grpcMessageCounts) { value in
            guard let value, let comma = value.firstIndex(of: UInt8(ascii: ",")),
                let request = Self.decimal(value[..<comma]), let response = Self.decimal(value[(comma + 1)...])
            else { return nil }
            return (request, response)
        }
    }

    /// A non-empty run of ASCII digits that fits in 64 bits.
    static func decimal(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        if digits.isEmpty || digits.count > 20 { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if overflow || carry { return nil }
            value = sum
        }
        return value
    }

    /// Deltas of the message counts since the last report.
    private func messageDeltas() -> (UInt64, UInt64) {
        guard let (request, response) = messageCounts() else { return (0, 0) }
        let deltas = (
            request >= reportedRequestMessages ? request - reportedRequestMessages : 0,
            response >= reportedResponseMessages ? response - reportedResponseMessages : 0
        )
        reportedRequestMessages = max(reportedRequestMessages, request)
        reportedResponseMessages = max(reportedResponseMessages, response)
        return deltas
    }

    /// Tick: gRPC message counters only (Istio's recurrent HTTP metrics).
    func reportMessages() {
        try? StreamControl.setEffectiveContext(id)
        let (requests, responses) = messageDeltas()
        if requests == 0 && responses == 0 { return }
        var facts = ReportFacts.read(role: root.role, xds: root.xds, services: root.clusterServices)
        facts.isGRPC = true
        facts.host = host
        root.emit(
            tcp: false, facts: facts, environment: reporter,
            include: { $0.isGRPCMessages }
        ) { source in
            switch source {
            case .grpcRequestMessages: return requests
            case .grpcResponseMessages: return responses
            default: return nil
            }
        }
    }

    private func report() {
        var facts = ReportFacts.read(role: root.role, xds: root.xds, services: root.clusterServices)
        facts.isGRPC = isGRPC
        facts.host = host
        if isGRPC { facts.grpcStatus = Properties.int64(StatsProperty.grpcStatus) }
        let durationNanos = Properties.int64(StatsProperty.requestDuration) ?? 0
        let (requestMessages, responseMessages) = isGRPC ? messageDeltas() : (0, 0)
        root.emit(
            tcp: false, facts: facts, environment: reporter,
            include: { !$0.isGRPCMessages || self.isGRPC }
        ) { source in
            switch source {
            case .one: return 1
            case .durationMilliseconds: return UInt64(max(0, durationNanos / 1_000_000))
            case .requestBytes: return UInt64(max(0, Properties.int64(StatsProperty.requestTotalSize) ?? 0))
            case .responseBytes: return UInt64(max(0, Properties.int64(StatsProperty.responseTotalSize) ?? 0))
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
