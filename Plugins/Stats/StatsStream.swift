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

    override func onLog() { report() }

    private func report() {
        var facts = reporter.facts()
        facts.isGRPC = isGRPC
        facts.host = host
        if isGRPC { facts.grpcStatus = (try? Properties.int64(["response", "grpc_status"])) ?? nil }
        let peerLabels = reporter.peer().map { WorkloadLabels($0) } ?? WorkloadLabels()
        let labels = IstioStats.labels(outbound: root.outbound, local: root.local, peer: peerLabels, facts: facts,
                                       localCanonicalService: root.localCanonicalService)
        let durationNanos = ((try? Properties.int64(["request", "duration"])) ?? nil) ?? 0
        root.emit(tcp: false, labels: labels, environment: reporter) { source in
            switch source {
            case .one: return 1
            case .durationMilliseconds: return UInt64(max(0, durationNanos / 1_000_000))
            case .requestBytes: return UInt64(max(0, ((try? Properties.int64(["request", "total_size"])) ?? nil) ?? 0))
            case .responseBytes: return UInt64(max(0, ((try? Properties.int64(["response", "total_size"])) ?? nil) ?? 0))
            case let .expression(expression):
                guard case let .int(number)? = expression.evaluate(self.reporter), number >= 0 else { return nil }
                return UInt64(number)
            case .tcpSentBytes, .tcpReceivedBytes, .tcpOpened, .tcpClosed: return nil
            }
        }
    }
}
