import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmWasmKit
import TelemetryCore
import Testing

/// `metric_expiry_duration` in stats.wasm: a label set no report used for the
/// expiry is forgotten on a tick (its metric ids, the cache entries pointing
/// to it, the decoded peers), which frees its place under `max_label_sets`.
/// The host keeps the series themselves, as Envoy 1.40 does for a Wasm
/// plugin: a label set that comes back continues its series.
@Suite("stats.wasm metric expiry")
struct StatsMetricExpiryTests {
    static func gauge(_ sidecar: StatsSidecar, _ name: String) -> UInt64? {
        sidecar.proxy.stats.stat(named: "istio_stats.\(name)")?.value
    }

    static func total(_ sidecar: StatsSidecar, host: String) -> UInt64? {
        sidecar.proxy.stats.stats.first { $0.name.hasSuffix("istio_requests_total") && $0.name.contains("destination_service=.=\(host);.;") }?.value
    }

    /// Ticks one second at a time.
    static func tick(_ sidecar: StatsSidecar, seconds: Int) {
        for _ in 0..<seconds { sidecar.proxy.advanceClock(byMilliseconds: 1000) }
    }

    @Test func aLabelSetIsForgottenOnlyOnceIdleForTheWholeExpiry() throws {
        let sidecar = try StatsSidecar(configuration: #"{"metric_expiry_duration": "3s", "tcp_reporting_duration": "1s"}"#)
        sidecar.request(authority: Array("reviews".utf8))
        Self.tick(sidecar, seconds: 3)
        #expect(Self.gauge(sidecar, "label_sets_active") == 1, "idle for less than 3 s after the request")
        #expect((Self.gauge(sidecar, "label_sets_expired") ?? 0) == 0)
        Self.tick(sidecar, seconds: 1)
        #expect(Self.gauge(sidecar, "label_sets_active") == 0)
        #expect(Self.gauge(sidecar, "label_sets_expired") == 1)
        #expect(Self.gauge(sidecar, "report_keys_cached") == 0 && Self.gauge(sidecar, "peers_cached") == 0)
        #expect(sidecar.vm.failure == nil)
    }

    @Test func aReportedLabelSetStaysWhileAnIdleOneGoes() throws {
        let sidecar = try StatsSidecar(configuration: #"{"metric_expiry_duration": "2s", "tcp_reporting_duration": "1s"}"#)
        sidecar.request(authority: Array("reviews".utf8))
        sidecar.request(authority: Array("ratings".utf8))
        for _ in 0..<5 {
            Self.tick(sidecar, seconds: 1)
            sidecar.request(authority: Array("reviews".utf8))
        }
        #expect(Self.gauge(sidecar, "label_sets_active") == 1)
        #expect(Self.gauge(sidecar, "label_sets_expired") == 1)
        // Envoy keeps a Wasm plugin's series; so does the host. The label set
        // that comes back is defined again and continues its series.
        #expect(Self.total(sidecar, host: "ratings") == 1)
        sidecar.request(authority: Array("ratings".utf8))
        #expect(Self.total(sidecar, host: "ratings") == 2)
        #expect(Self.total(sidecar, host: "reviews") == 6)
        #expect(Self.gauge(sidecar, "label_sets_active") == 1, "published on the next tick")
        Self.tick(sidecar, seconds: 1)
        #expect(Self.gauge(sidecar, "label_sets_active") == 2)
        #expect(sidecar.vm.failure == nil)
    }

    /// Expired label sets free their place under `max_label_sets`: a new label
    /// set after the expiry gets its own series instead of the overflow one.
    @Test func expiryFreesPlacesUnderTheLabelSetBound() throws {
        let sidecar = try StatsSidecar(configuration: #"{"metric_expiry_duration": "1s", "tcp_reporting_duration": "1s", "max_label_sets": 2}"#)
        for host in ["a", "b", "c"] { sidecar.request(authority: Array(host.utf8)) }
        #expect(Self.total(sidecar, host: "c") == nil && Self.total(sidecar, host: "overflow") == 1)
        Self.tick(sidecar, seconds: 2)
        sidecar.request(authority: Array("d".utf8))
        #expect(Self.total(sidecar, host: "d") == 1)
        #expect(Self.total(sidecar, host: "overflow") == 1)
        #expect(sidecar.vm.failure == nil)
    }

    /// After many distinct label sets have expired, the plugin's caches hold
    /// no more entries than the label sets still reported (peers included).
    @Test func manyExpiredLabelSetsLeaveNoCacheEntriesBehind() throws {
        let sidecar = try StatsSidecar(configuration: #"{"metric_expiry_duration": "1s", "tcp_reporting_duration": "1s", "max_label_sets": 5000}"#)
        var node = PeerNode()
        node.namespace = "default"
        for index in 0..<400 {
            node.workloadName = "client-\(index % 20)"
            sidecar.request(
                authority: Array("host-\(index)".utf8),
                state: StatsSidecar.downstreamPeer(FlatNodeCodec.encode(node), id: node.workloadName!))
        }
        Self.tick(sidecar, seconds: 1)
        #expect(Self.gauge(sidecar, "label_sets_active") == 400 && Self.gauge(sidecar, "report_keys_cached") == 400)
        #expect(Self.gauge(sidecar, "peers_cached") == 20)
        Self.tick(sidecar, seconds: 1)
        for host in ["live-1", "live-2", "live-3"] { sidecar.request(authority: Array(host.utf8)) }
        Self.tick(sidecar, seconds: 1)
        #expect(Self.gauge(sidecar, "label_sets_expired") == 400)
        #expect(Self.gauge(sidecar, "label_sets_active") == 3)
        let liveSeries = sidecar.proxy.stats.stats.filter {
            $0.name.contains("istio_requests_total") && $0.name.contains("destination_service=.=live-")
        }.count
        #expect(liveSeries == 3)
        for cache in ["label_sets_active", "report_keys_cached", "peers_cached"] {
            let entries = try #require(Self.gauge(sidecar, cache))
            #expect(entries <= UInt64(liveSeries), "\(cache): \(entries) entries for \(liveSeries) live series")
        }
        #expect(sidecar.vm.failure == nil)
    }

    @Test(arguments: ["5", "soon", "-1s", "1.s"])
    func aMalformedExpiryRefusesTheConfiguration(_ value: String) throws {
        #expect(throws: (any Error).self) { try StatsSidecar(configuration: #"{"metric_expiry_duration": "\#(value)"}"#) }
    }

    @Test func withoutExpiryNothingIsForgottenOrPublished() throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "1s"}"#)
        sidecar.request(authority: Array("reviews".utf8))
        Self.tick(sidecar, seconds: 5)
        #expect(Self.gauge(sidecar, "label_sets_active") == nil && Self.gauge(sidecar, "report_keys_cached") == nil)
        sidecar.request(authority: Array("reviews".utf8))
        #expect(Self.total(sidecar, host: "reviews") == 2)
        #expect(sidecar.vm.failure == nil)
    }
}
