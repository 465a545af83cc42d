import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import Testing

/// TCP connections whose peer never arrives (no metadata exchange on the
/// chain: plaintext, out of the mesh) are reported on ticks after one
/// reporting interval, not only when they close; and `tcp_reporting_duration`
/// takes protobuf JSON durations.
@Suite("stats.wasm TCP without a peer")
struct StatsTcpWithoutPeerTests {
    static func value(_ proxy: Proxy, _ family: String) -> UInt64 {
        proxy.stats.stats.filter { $0.name.hasSuffix(family) }.reduce(0) { $0 + $1.value }
    }

    /// Opens a connection with no exchange, sends `ping` each way, and
    /// samples the opened and received counters as the clock advances.
    static func samples(_ duration: String, steps: [UInt64]) throws -> [(opened: UInt64, received: UInt64)] {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "\#(duration)"}"#)
        let connection = TcpConnection(vm: sidecar.vm, root: sidecar.root)
        connection.open()
        connection.downstreamData(Array("ping".utf8))
        connection.upstreamData(Array("pong".utf8))
        var result: [(UInt64, UInt64)] = []
        for step in steps {
            sidecar.proxy.advanceClock(byMilliseconds: step)
            result.append(
                (
                    value(sidecar.proxy, "istio_tcp_connections_opened_total"),
                    value(sidecar.proxy, "istio_tcp_received_bytes_total")
                ))
        }
        connection.close()
        #expect(sidecar.vm.failure == nil)
        #expect(value(sidecar.proxy, "istio_tcp_connections_closed_total") == 1)
        #expect(value(sidecar.proxy, "istio_tcp_received_bytes_total") == 4)
        return result
    }

    @Test func aConnectionWithoutExchangeIsReportedAfterOneInterval() throws {
        let seen = try Self.samples("0.5s", steps: [400, 100, 1000])
        #expect(seen.map(\.opened) == [0, 1, 1])
        #expect(seen.map(\.received) == [0, 4, 4])
    }

    @Test func fractionalSecondsSetTheInterval() throws {
        let seen = try Self.samples("1.5s", steps: [1000, 499, 1])
        #expect(seen.map(\.opened) == [0, 0, 1])
    }

    @Test func theLabelsAreThoseKnownLocally() throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "1s"}"#)
        let connection = TcpConnection(vm: sidecar.vm, root: sidecar.root)
        connection.open()
        sidecar.proxy.advanceClock(byMilliseconds: 1000)
        let name = try #require(sidecar.proxy.stats.stats.map(\.name).first { $0.hasSuffix("istio_tcp_connections_opened_total") })
        #expect(name.contains("reporter=.=destination;.;source_workload=.=unknown;.;"))
        #expect(name.contains("destination_workload=.=ratings-v1;.;"))
        connection.close()
    }

    /// A tick that comes before the connection is one interval old waits
    /// for the peer; the peer decided later labels the first report.
    @Test func aPeerThatArrivesWithinTheIntervalIsWaitedFor() throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "1s"}"#)
        sidecar.proxy.advanceClock(byMilliseconds: 500)
        let connection = TcpConnection(vm: sidecar.vm, root: sidecar.root)
        connection.open()
        sidecar.proxy.advanceClock(byMilliseconds: 500)  // the tick at 1 s: the connection is 0.5 s old
        #expect(Self.value(sidecar.proxy, "istio_tcp_connections_opened_total") == 0)
        connection.streamState.filterState["wasm.downstream_peer_id"] = Array("peer".utf8)
        connection.streamState.filterState["wasm.downstream_peer"] = try IstioTestdata.serverPeerNode()  // ratings-v1
        sidecar.proxy.advanceClock(byMilliseconds: 1000)
        let names = sidecar.proxy.stats.stats.map(\.name).filter { $0.hasSuffix("istio_tcp_connections_opened_total") }
        #expect(names.count == 1 && names[0].contains("source_workload=.=ratings-v1;.;"), "\(names)")
        connection.close()
    }

    /// Durations as protobuf JSON writes them, and the forms Istio also accepts.
    @Test(arguments: [
        ("0.5s", 500), ("1.5s", 1500), ("15s", 15000), ("0.25s", 250), ("2.000000001s", 2000),
        ("0.0001s", 1), ("500ms", 500), ("2m", 120_000), ("0s", 0),
    ])
    func durationsSetTheTickPeriod(_ text: String, _ milliseconds: Int) throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "\#(text)"}"#)
        #expect(sidecar.vm.ticks.period(of: sidecar.root) == UInt64(milliseconds), "\(text)")
        #expect(!sidecar.proxy.logs.contains { $0.level == .warn })
    }

    @Test(arguments: ["1.s", ".5s", "1.5ms", "1.5m", "0.1234567891s", "1..5s", "1.5", "s", "-1s", "1.5 s", "4294968s"])
    func malformedDurationsKeepTheDefaultWithAWarning(_ text: String) throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "\#(text)"}"#)
        #expect(sidecar.vm.ticks.period(of: sidecar.root) == 15000, "\(text)")
        #expect(sidecar.proxy.logs.contains { $0.level == .warn && $0.message.contains("tcp_reporting_duration \"\(text)\" is not a duration") })
    }
}
