import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmTestSupport
import ProxyWasmTools
import ProxyWasmWasmKit
import Testing

/// Istio's customization rules (§5.5 of the spec: definitions, drop,
/// tags_to_remove, dimensions, compile failures), observed through the
/// stat names stats.wasm defines for one outbound request.
@Suite("stats.wasm configuration rules")
struct StatsConfigurationTests {
    /// Runs one request and returns every stat name (without `wasmcustom.`) and value.
    static func run(_ configuration: String) throws -> (names: [String: UInt64], logs: [LogLine]) {
        let proxy = Sidecar.proxy("client", metadata: "client_node_metadata.rendered.json")
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        let root = try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_outbound", configuration: Array(configuration.utf8)))
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/"), HeaderPair(":authority", "reviews:9080")])
        stream.sendResponseHeaders([HeaderPair(":status", "200")])
        stream.complete()
        #expect(vm.failure == nil)
        var names: [String: UInt64] = [:]
        for stat in proxy.stats.stats where stat.type == .counter {
            names[String(stat.name.dropFirst("wasmcustom.".count))] = stat.value
        }
        return (names, proxy.logs)
    }

    static func requestsTotal(_ names: [String: UInt64]) -> (name: String, value: UInt64)? {
        names.first { $0.key.hasSuffix("istio_requests_total") }.map { ($0.key, $0.value) }
    }

    @Test func theDefaultNameEncodesAll25LabelsInOrder() throws {
        let (names, _) = try Self.run("")
        let name = try #require(Self.requestsTotal(names)).name
        let tags = name.components(separatedBy: ";.;").dropLast().map { $0.components(separatedBy: "=.=")[0] }
        #expect(tags == IstioLabelNames.all)
    }

    @Test func tagsToRemoveDropsLabelsAndDimensionsAppendOrReplace() throws {
        let (names, _) = try Self.run(
            #"{"metrics":[{"name":"requests_total","tags_to_remove":["response_flags","source_principal"],"dimensions":{"request_protocol":"'custom'","extra":"request.host"}}]}"#
        )
        let name = try #require(Self.requestsTotal(names)).name
        #expect(!name.contains("response_flags=") && !name.contains("source_principal="))
        #expect(name.contains("request_protocol=.=custom;.;"))  // kept its position, took the value
        #expect(name.hasSuffix("extra=.=reviews:9080;.;istio_requests_total"))  // appended last
    }

    /// A dimension for every metric (`name` empty) lands after each metric's own cut-off: the 23
    /// TCP labels end with connection_security_policy, the 25 HTTP ones with grpc_response_status.
    @Test func unnamedDimensionsFollowEachMetricsCutOff() throws {
        let proxy = Sidecar.proxy("server", metadata: "server_node_metadata.rendered.json")
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        let configuration = #"{"tcp_reporting_duration": "1s", "metrics": [{"dimensions": {"mesh_id": "'m1'"}}]}"#
        let root = try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_inbound", configuration: Array(configuration.utf8)))
        let connection = TcpConnection(vm: vm, root: root)
        connection.open()
        connection.streamState.filterState["wasm.downstream_peer_id"] = Array("envoy.wasm.metadata_exchange.peer_unknown".utf8)
        connection.downstreamData(Array("ping".utf8))
        connection.close()
        let tcpNames = proxy.stats.stats.map(\.name).filter { $0.hasSuffix("istio_tcp_connections_opened_total") }
        let tcp = try #require(tcpNames.first)
        let tags = tcp.dropFirst("wasmcustom.".count).components(separatedBy: ";.;").dropLast().map { $0.components(separatedBy: "=.=")[0] }
        #expect(tags == Array(IstioLabelNames.all.prefix(23)) + ["mesh_id"])
        #expect(tcp.contains("mesh_id=.=m1;.;"))
        let (names, _) = try Self.run(#"{"metrics": [{"dimensions": {"mesh_id": "'m1'"}}]}"#)
        let http = try #require(Self.requestsTotal(names)).name
        let httpTags = http.components(separatedBy: ";.;").dropLast().map { $0.components(separatedBy: "=.=")[0] }
        #expect(httpTags == IstioLabelNames.all + ["mesh_id"])
    }

    /// Istio never records a zero on a counter: a connection that carried no
    /// bytes, reported on ticks and at close, defines no byte series at all.
    @Test func countersAreNeverRecordedAsZero() throws {
        let sidecar = try StatsSidecar(configuration: #"{"tcp_reporting_duration": "1s"}"#)
        let (proxy, vm) = (sidecar.proxy, sidecar.vm)
        let connection = TcpConnection(vm: vm, root: sidecar.root)
        connection.open()
        connection.streamState.filterState["wasm.downstream_peer_id"] = Array("envoy.wasm.metadata_exchange.peer_unknown".utf8)
        proxy.advanceClock(byMilliseconds: 2500)
        connection.close()
        #expect(vm.failure == nil)
        let names = proxy.stats.stats.map(\.name)
        #expect(names.filter { $0.hasSuffix("istio_tcp_connections_opened_total") }.count == 1)
        #expect(names.filter { $0.hasSuffix("istio_tcp_connections_closed_total") }.count == 1)
        #expect(!names.contains { $0.hasSuffix("istio_tcp_sent_bytes_total") || $0.hasSuffix("istio_tcp_received_bytes_total") })
        #expect(proxy.stats.stats.filter { $0.name.contains(";.;") }.allSatisfy { $0.type != .counter || $0.value > 0 })
    }

    @Test func dropRemovesAMetric() throws {
        let (names, _) = try Self.run(#"{"metrics":[{"name":"requests_total","drop":true}]}"#)
        #expect(Self.requestsTotal(names) == nil)
    }

    @Test func definitionsAddMetricsAndReplaceStandardValues() throws {
        let (names, _) = try Self.run(
            #"{"definitions":[{"name":"requests_total","value":"10"},{"name":"custom_total","value":"3","type":"COUNTER"}]}"#)
        #expect(try #require(Self.requestsTotal(names)).value == 10)
        #expect(names["istio_custom_total"] == 3)  // custom metrics start without tags
    }

    @Test func aDimensionThatDoesNotCompileRemovesTheTagWithAWarning() throws {
        let (names, logs) = try Self.run(#"{"metrics":[{"dimensions":{"response_code":"request.host +"}}]}"#)
        let name = try #require(Self.requestsTotal(names)).name
        #expect(!name.contains("response_code="))
        #expect(
            logs.contains {
                $0.level == .warn && $0.message.contains("dimension response_code of requests_total: cannot parse \"request.host +\" at position 14")
            })
    }

    /// Starts stats.wasm with one dimension `extra` = `expression`, expects the
    /// configuration refused (not trapped), and returns the error log lines.
    static func refusedDimension(_ expression: String) throws -> [String] {
        let proxy = Sidecar.proxy("client")
        let vm = try Sidecar.load("stats", on: proxy, vmID: "stats").vm
        let configuration = #"{"metrics":[{"name":"requests_total","dimensions":{"extra":"\#(expression)"}}]}"#
        #expect(throws: PluginStartError.self) {
            try vm.startPlugin(PluginConfiguration(name: "stats", rootID: "stats_outbound", configuration: Array(configuration.utf8)))
        }
        #expect(vm.failure == nil)  // refused, not trapped
        return proxy.logs.filter { $0.level == .error }.map(\.message)
    }

    /// Expressions that would exhaust the guest's stack at request time are
    /// refused at configure time, naming the dimension and the limit.
    @Test(arguments: [
        (
            Array(repeating: "'a'", count: 500).joined(separator: "+"), "dimension extra of requests_total: at position",
            "nested deeper than 32 levels"
        ),
        (
            "string(" + Array(repeating: "'a'", count: 300).joined(separator: ", ") + ")", "dimension extra of requests_total: at position",
            "more than 256 terms"
        ),
        (String(repeating: "!", count: 1000) + "true", "dimension extra of requests_total: at position", "nested deeper than 32 levels"),
        (String(repeating: "!", count: 3000) + "true", "dimension extra of requests_total: at position", "nested deeper than 32 levels"),
    ])
    func expressionsBeyondTheLimitsRefuseTheConfiguration(_ expression: String, _ names: String, _ limit: String) throws {
        let errors = try Self.refusedDimension(expression)
        #expect(errors.contains { $0.hasPrefix("stats: invalid configuration: " + names) && $0.hasSuffix(limit) }, "\(errors)")
    }

    /// The largest trees the limits allow, of every shape, evaluate at
    /// request time in the wasm32 module without exhausting its stack.
    @Test func expressionsAtTheLimitsEvaluateInTheModule() throws {
        let deepest = [
            Array(repeating: "request.host", count: 32).joined(separator: " + "),
            String(repeating: "!", count: 31) + "true",
            String(repeating: "(", count: 30) + "request.host" + String(repeating: ")", count: 30),
            "string(" + Array(repeating: "(request.host == 'a' ? 'b' : 'c')", count: 42).joined(separator: ", ") + ")",
            Array(repeating: "(request.host == 'x' || request.host.startsWith('r'))", count: 8).joined(separator: " && "),
        ]
        var dimensions: [String] = []
        for (index, text) in deepest.enumerated() { dimensions.append("\"d\(index)\": \"\(text)\"") }
        let (names, logs) = try Self.run(#"{"metrics":[{"name":"requests_total","dimensions":{"# + dimensions.joined(separator: ",") + "}}]}")
        #expect(!logs.contains { $0.level == .error || $0.level == .warn }, "\(logs.map(\.message))")
        let name = try #require(Self.requestsTotal(names)).name
        #expect(name.contains("d0=.=" + String(repeating: "reviews:9080", count: 32) + ";.;"))
        #expect(name.contains("d1=.=false;.;") && name.contains("d2=.=reviews:9080;.;") && name.contains("d4=.=true;.;"))
    }

    /// The operators beyond Istio's shipped configurations, evaluated by the
    /// wasm32 module (where `Int` is 32 bits): 64-bit arithmetic and its
    /// overflow, comparisons, `in`, `size()` of multi-byte text.
    @Test func operatorsEvaluateWith64BitIntegersInTheModule() throws {
        let dimensions: [(String, String, String)] = [
            ("big", "string(9223372036854775807 - 1)", "9223372036854775806"),
            ("overflow", "string(-9223372036854775808 / -1)", "unknown"),
            ("scaled", "string(request.host.size() * 1000000000000)", "12000000000000"),
            ("text", "string(size('h\u{00e9}llo'))", "5"),
            ("ordered", "string('reviews:9080' <= request.host && request.host < 'reviews:9081')", "true"),
            ("member", "string(request.host in ['a', 'reviews:9080'])", "true"),
            ("remainder", "string(7 % -3 + -7 % 3)", "0"),
        ]
        let entries = dimensions.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ",")
        let (names, logs) = try Self.run(#"{"metrics":[{"name":"requests_total","dimensions":{"# + entries + "}}]}")
        #expect(!logs.contains { $0.level == .error || $0.level == .warn }, "\(logs.map(\.message))")
        let name = try #require(Self.requestsTotal(names)).name
        for (key, _, value) in dimensions { #expect(name.contains("\(key)=.=\(value);.;"), "\(key) in \(name)") }
    }

    /// A function, method or attribute the evaluator does not have refuses the
    /// configuration, listing what is supported (Istio would drop the dimension).
    @Test(arguments: [
        ("lower(request.host)", "unknown function 'lower' (supported: has, int, size, string)"),
        ("request.host.lower()", "unknown method 'lower' (supported: contains, endsWith, size, startsWith)"),
        ("xds.cluster", "unknown attribute 'xds.cluster' (supported: node, cluster_name,"),
        ("reqest.host", "unknown attribute 'reqest' (supported: request, response,"),
    ])
    func unsupportedNamesRefuseTheConfiguration(_ expression: String, _ message: String) throws {
        let errors = try Self.refusedDimension(expression)
        #expect(
            errors.contains { $0.hasPrefix("stats: invalid configuration: dimension extra of requests_total: at position") && $0.contains(message) },
            "\(errors)")
    }

    @Test func anExpressionThatFailsAtRequestTimeGivesUnknown() throws {
        let (names, _) = try Self.run(#"{"metrics":[{"dimensions":{"extra":"request.nonexistent"}}]}"#)
        #expect(try #require(Self.requestsTotal(names)).name.contains("extra=.=unknown;.;"))
    }

    @Test func separatorsAreConfigurable() throws {
        let (names, _) = try Self.run(#"{"field_separator":";;","value_separator":"=="}"#)
        #expect(try #require(Self.requestsTotal(names)).name.hasPrefix("reporter==source;;source_workload==productpage-v1;;"))
    }

    @Test func lenientValuesAreAcceptedAndBadOnesRefused() throws {
        _ = try Self.run(#"{"debug":"false","stat_prefix":"istio","disable_host_header_fallback":"true","tcp_reporting_duration":"1s"}"#)
        #expect(throws: PluginStartError.self) { _ = try Self.run(#"{"disable_host_header_fallback": 3}"#) }
        #expect(throws: PluginStartError.self) { _ = try Self.run(#"{"metrics": {}}"#) }
    }

    /// Configuration strings are compared by their bytes, as Istio's JSON
    /// parser and Envoy compare them: two dimension names that differ only
    /// in Unicode normalization ("café" precomposed and decomposed) are two
    /// dimensions, and a non-ASCII name equal to no label is appended, not
    /// taken for one. wasm32: the Embedded stdlib's String answers these
    /// comparisons from the runtime's tables (Plugins/ProxyWasmRuntime).
    @Test func dimensionNamesAreComparedByTheirBytes() throws {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        let configuration =
            #"{"metrics":[{"name":"requests_total","dimensions":{"# + "\"\(composed)\":\"'one'\",\"\(decomposed)\":\"'two'\","
            + #""request_protocol":"'caf\#u{E9}'"}}]}"#
        let sidecar = try StatsSidecar(inbound: false, configuration: configuration)
        sidecar.request()
        let name = try #require(sidecar.proxy.stats.stats.map(\.name).first { $0.hasSuffix("istio_requests_total") })
        let tags = name.dropFirst("wasmcustom.".count).components(separatedBy: ";.;").dropLast()
        func has(_ tag: String) -> Bool { tags.contains { Array($0.utf8) == Array(tag.utf8) } }
        #expect(has("\(composed)=.=one"), "\(tags.suffix(3))")
        #expect(has("\(decomposed)=.=two"), "\(tags.suffix(3))")
        #expect(has("request_protocol=.=\(composed)"))
        #expect(tags.count == IstioLabelNames.all.count + 2)
        #expect(sidecar.vm.failure == nil)
    }
}

enum IstioLabelNames {
    static let all = [
        "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app",
        "source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
        "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
        "destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
        "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
        "request_protocol", "response_flags", "connection_security_policy", "response_code", "grpc_response_status",
    ]
}

/// The bound on label sets: past `max_label_sets`, new label sets are folded
/// into one overflow series per metric, so totals stay exact and memory flat.
@Suite("stats.wasm series bound")
struct StatsSeriesBoundTests {
    @Test func distinctHostsPastTheBoundFoldIntoOneOverflowSeries() throws {
        let sidecar = try StatsSidecar(configuration: #"{"max_label_sets": "10"}"#)
        let proxy = sidecar.proxy
        for index in 0..<40 { sidecar.request(authority: Array("host-\(index)".utf8)) }
        for index in 0..<5 { sidecar.request(authority: Array("host-\(index)".utf8)) }  // known label sets keep their own series
        #expect(sidecar.vm.failure == nil)
        let totals = proxy.stats.stats.filter { $0.name.hasSuffix("istio_requests_total") }
        #expect(totals.count == 11)
        #expect(totals.map(\.value).reduce(0, +) == 45)
        let overflow = try #require(totals.first { $0.name.contains("destination_service=.=overflow;.;") })
        #expect(overflow.value == 30)
        #expect(overflow.name.hasPrefix("wasmcustom.reporter=.=destination;.;source_workload=.=overflow;.;"))
        #expect(totals.first { $0.name.contains("destination_service=.=host-0;.;") }?.value == 2)
        #expect(proxy.stats.stat(named: "istio_stats.label_sets_folded")?.value == 30)
        // Each of the four HTTP metrics has the same bound: 10 label sets plus the overflow one.
        for family in ["istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes"] {
            #expect(proxy.stats.stats.filter { $0.name.hasSuffix(family) }.count == 11, "\(family)")
        }
    }

    @Test func theDefaultBoundIsAThousandAndBadValuesAreRefused() throws {
        #expect(try StatsSidecar().vm.failure == nil)
        for bad in [#"{"max_label_sets": 0}"#, #"{"max_label_sets": "lots"}"#, #"{"max_label_sets": true}"#] {
            #expect(throws: PluginStartError.self) { _ = try StatsSidecar(configuration: bad) }
        }
    }
}
