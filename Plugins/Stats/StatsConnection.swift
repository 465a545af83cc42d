import ProxyWasm
import TelemetryCore

/// One TCP connection: bytes counted in each direction, reported as deltas
/// on every tick once metadata exchange has decided the peer, and in full
/// when the connection closes (Istio 1.12 `onTick` / `onLog`). A peer that
/// has not arrived one reporting interval after the connection opened (no
/// exchange on the chain: plaintext, out of the mesh) is not waited for any
/// longer: ticks report with the labels known locally, as the close would.
///
/// Filter placement for correct byte counts: on the client (outbound) put
/// stats before metadata_exchange, on the server (inbound) after it, so the
/// exchange prefix is never counted as application bytes.
final class StatsConnection: TcpContext, TickListMember {
    var tickListIndex = -1
    let root: StatsRoot
    let reporter: StreamReporter
    private var received: UInt64 = 0
    private var sent: UInt64 = 0
    private var openedPending = true
    private var closed = false
    /// When the connection opened (host clock), for the bounded peer wait.
    private let openedAtNanoseconds: UInt64

    init(id: UInt32, root: StatsRoot) {
        self.root = root
        self.reporter = StreamReporter(root: root)
        openedAtNanoseconds = (try? Clock.nowNanoseconds()) ?? 0
        super.init(id: id, rootID: root.id)
    }

    override func onDownstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus {
        received &+= UInt64(dataSize)
        return .continue
    }

    override func onUpstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus {
        sent &+= UInt64(dataSize)
        return .continue
    }

    /// Tick: deltas since the last report, unless the peer may still arrive.
    func reportPeriodically() {
        // Ticks run on the root context: switch to the connection before reading its properties.
        try? StreamControl.setEffectiveContext(id)
        if reporter.isWaitingForPeer && !hasWaitedForPeer { return }
        report()
    }

    /// Whether one reporting interval has passed since the connection opened.
    private var hasWaitedForPeer: Bool {
        let now = (try? Clock.nowNanoseconds()) ?? 0
        let wait = UInt64(root.configuration.tcpReportingMilliseconds) * 1_000_000
        return now >= openedAtNanoseconds && now - openedAtNanoseconds >= wait
    }

    override func onLog() {
        closed = true
        report()
        root.connections.remove(self)
    }

    override func onDelete() { root.connections.remove(self) }

    private func report() {
        var facts = ReportFacts.read(role: root.role, xds: root.xds, services: root.clusterServices)
        facts.isTCP = true
        let opened: UInt64 = openedPending ? 1 : 0
        let closing: UInt64 = closed ? 1 : 0
        let sentDelta = sent
        let receivedDelta = received
        root.emit(tcp: true, facts: facts, environment: reporter) { source in
            switch source {
            case .tcpSentBytes: return sentDelta
            case .tcpReceivedBytes: return receivedDelta
            case .tcpOpened: return opened
            case .tcpClosed: return closing
            default: return nil
            }
        }
        openedPending = false
        sent = 0
        received = 0
    }
}
