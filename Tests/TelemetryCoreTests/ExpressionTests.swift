import Foundation
import Testing

@testable import TelemetryCore

/// The CEL subset: parsing (with error positions) and evaluation.
@Suite("Expressions")
struct ExpressionTests {
    final class Attributes: ExpressionEnvironment {
        var values: [String: ExpressionValue] = [
            "request.host": .string("127.0.0.1:8080"),
            "request.protocol": .string("HTTP/1.1"),
            "destination.port": .int(9080),
            "upstream_peer_id": .string("server"),
            "node.metadata.CLUSTER_ID": .string("client-cluster"),
            "node.metadata.LABELS": .map([(key: "app", value: .string("productpage")), (key: "version", value: .string("v1"))]),
            "upstream_peer": .map([
                (
                    key: "labels",
                    value: .map([
                        (
                            key: "app",
                            value: .map([
                                (key: "key", value: .string("app")),
                                (key: "value", value: .string("ratings")),
                            ])
                        )
                    ])
                )
            ]),
        ]

        func resolve(_ path: [String]) -> ExpressionValue? {
            var joined = ""
            for (index, segment) in path.enumerated() { joined += (index > 0 ? "." : "") + segment }
            if let value = values[joined] { return value }
            // Walk into maps for longer paths.
            for split in stride(from: path.count - 1, to: 0, by: -1) {
                let head = path.prefix(split).joined(separator: ".")
                if var value = values[head] {
                    for segment in path.dropFirst(split) {
                        guard let next = value.member(segment) else { return nil }
                        value = next
                    }
                    return value
                }
            }
            return nil
        }
    }

    nonisolated(unsafe) static let cases: [(String, ExpressionValue?)] = [
        ("'proxy'", .string("proxy")),
        ("\"10\"", .string("10")),
        ("10", .int(10)),
        ("request.host", .string("127.0.0.1:8080")),
        ("string(destination.port)", .string("9080")),
        ("(request.host.startsWith('127.0.0.1') ? 'localhost:' : request.host) + string(upstream_peer_id)", .string("localhost:server")),
        ("node.metadata['CLUSTER_ID']", .string("client-cluster")),
        ("node.metadata.LABELS.version", .string("v1")),
        ("'_' + node.metadata['LABELS']['app']", .string("_productpage")),
        ("'_' + (has(node.metadata.LABELS.version) ? node.metadata.LABELS.version : 'unknown')", .string("_v1")),
        ("'_' + (has(node.metadata.LABELS.missing) ? node.metadata.LABELS.missing : 'unknown')", .string("_unknown")),
        ("'_' + upstream_peer.labels['app'].value", .string("_ratings")),
        ("request.protocol == 'HTTP/1.1' && !(destination.port == 80)", .bool(true)),
        ("request.host.endsWith(':8080') || false", .bool(true)),
        ("request.host.contains('0.0')", .bool(true)),
        ("int('42') + 1", .int(43)),
        ("request.missing", nil),
        ("'a' + 1", nil),
        ("request.host ? 'x' : 'y'", nil),
        // Comparisons: integers, strings by code point, booleans; none across types.
        ("destination.port >= 9080 && destination.port < 9081", .bool(true)),
        ("destination.port > 9080 || destination.port <= 9079", .bool(false)),
        ("'abc' < 'abd' && 'b' > 'abc' && 'a' <= 'a'", .bool(true)),
        ("'z' < '\u{00e9}'", .bool(true)),
        ("false < true", .bool(true)),
        ("destination.port < 9080 || 'a' < 'a' || true < true || 'b' > 'b' || 9080 > destination.port", .bool(false)),
        ("destination.port <= 9080 && 'b' >= 'b' && 'a' <= 'b' && !('b' <= 'a') && !(1 >= 2)", .bool(true)),
        ("destination.port < '9081'", nil),
        // Strings are equal when their code points are: canonically equivalent text is not equal.
        ("'caf\u{e9}' == 'cafe\u{301}' || 'caf\u{e9}' in ['cafe\u{301}'] || 'cafe\u{301}' in {'caf\u{e9}': 1}", .bool(false)),
        ("'caf\u{e9}' == 'caf\u{e9}' && 'cafe\u{301}' in {'cafe\u{301}': 1}", .bool(true)),
        // Integer arithmetic, by CEL's precedence; overflow and division by zero give nothing.
        ("1 + 2 * 3 - 8 / 2 % 3", .int(6)),
        ("(1 + 2) * 3", .int(9)),
        ("-destination.port", .int(-9080)),
        ("10 - -3", .int(13)),
        ("destination.port / 100", .int(90)),
        ("destination.port % 0", nil),
        ("destination.port / 0", nil),
        ("9223372036854775807 + 1", nil),
        ("-9223372036854775808 / -1", nil),
        ("-(-9223372036854775808)", nil),
        ("-9223372036854775808 * 1", .int(Int64.min)),
        ("'a' * 2", nil),
        // `in` on lists and maps, list and map literals.
        ("request.protocol in ['HTTP/1.0', 'HTTP/1.1']", .bool(true)),
        ("destination.port in [80, 443]", .bool(false)),
        ("'version' in node.metadata.LABELS", .bool(true)),
        ("'missing' in node.metadata.LABELS", .bool(false)),
        ("1 in node.metadata.LABELS", nil),
        ("'x' in 'xyz'", nil),
        ("[1, 2] + [3]", .list([.int(1), .int(2), .int(3)])),
        ("{'a': 1, 'b': destination.port}['b']", .int(9080)),
        ("'b' in {'a': 1, 'b': 2} && size({}) == 0", .bool(true)),
        ("{1: 'x'}", nil),
        ("[request.missing]", nil),
        // size(): code points of strings, entries of lists and maps.
        ("size(request.host)", .int(14)),
        ("request.host.size() > 10", .bool(true)),
        ("size('h\u{00e9}llo')", .int(5)),
        ("size(node.metadata.LABELS)", .int(2)),
        ("size([1, 2, 3]) == 3", .bool(true)),
        ("size([])", .int(0)),
        ("size(destination.port)", nil),
        ("request.host.size(1)", nil),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
    ]

    @Test(arguments: cases.indices)
    func evaluatesIstiosExpressions(_ index: Int) throws {
        let (text, expected) = Self.cases[index]
        let expression = try Expression.parse(text)
        #expect(expression.evaluate(Attributes()) == expected, "\(text)")
    }

    static let syntaxErrors: [(String, Int, String)] = [
        ("", 0, "expected a value, found end of expression"),
        ("request.", 8, "expected a field name after '.', found end of expression"),
        ("(request.a + request.b", 22, "expected ')', found end of expression"),
        ("request.a ? request.b", 21, "expected ':' in a conditional, found end of expression"),
        ("'unterminated", 0, "unterminated string"),
        ("request.host b", 13, "unexpected 'b'"),
        ("[1, 2", 5, "expected ',' or ']', found end of expression"),
        ("9223372036854775808", 0, "invalid number"),
        ("1 + -9223372036854775809", 4, "invalid number"),
        ("{'a' 1}", 5, "expected ':' after a map key, found '1'"),
        ("{'a': 1", 7, "expected ',' or '}', found end of expression"),
        ("1 <", 3, "expected a value, found end of expression"),
        ("1 index", 2, "unexpected 'i'"),
        ("node.metadata['k'", 17, "expected ']', found end of expression"),
        ("#", 0, "unexpected '#'"),
    ]

    @Test(arguments: syntaxErrors.indices)
    func syntaxErrorsNameThePosition(_ index: Int) {
        let (text, position, reason) = Self.syntaxErrors[index]
        #expect(throws: ExpressionSyntaxError(position: position, reason: reason)) { try Expression.parse(text) }
    }

    /// Names the evaluator does not have are refused (not dropped), with what is supported.
    static let unsupported: [(String, Int, String)] = [
        ("lower(request.host)", 19, "unknown function 'lower' (supported: has, int, size, string)"),
        ("request.host.lower()", 20, "unknown method 'lower' (supported: contains, endsWith, size, startsWith)"),
        (
            "requests.host", 0,
            "unknown attribute 'requests' (supported: request, response, connection, upstream, source, "
                + "destination, metadata, filter_state, xds, node, cluster_name, cluster_metadata, route_name, route_metadata, "
                + "listener_direction, listener_metadata, upstream_host_metadata, plugin_name, plugin_root_id, plugin_vm_id, "
                + "upstream_peer, downstream_peer, upstream_peer_id, downstream_peer_id)"
        ),
        (
            "'a' + xds.cluster", 10,
            "unknown attribute 'xds.cluster' (supported: node, cluster_name, cluster_metadata, "
                + "route_name, route_metadata, virtual_host_name, virtual_host_metadata, filter_chain_name, listener_metadata, "
                + "listener_direction, upstream_host_metadata, upstream_host_locality_metadata)"
        ),
    ]

    @Test(arguments: unsupported.indices)
    func unsupportedNamesAreRefusedWithWhatIsSupported(_ index: Int) {
        let (text, position, reason) = Self.unsupported[index]
        #expect(throws: ExpressionSyntaxError(position: position, reason: reason, isUnsupported: true)) { try Expression.parse(text) }
        #expect((try? Expression.parse(text)) == nil)
    }

    @Test func everyRootAndXDSFieldIsAccepted() throws {
        for root in UTF8Text.string(AttributeVocabulary.roots).split(separator: ",") {
            let name = root.trimmingCharacters(in: .whitespaces)
            #expect(AttributeVocabulary.isRoot(name), "\(name)")
            _ = try Expression.parse(name + (name == "xds" ? ".node" : ".x"))
        }
        for field in UTF8Text.string(AttributeVocabulary.xdsFields).split(separator: ",") {
            let name = field.trimmingCharacters(in: .whitespaces)
            #expect(AttributeVocabulary.isXDSField(name), "\(name)")
            _ = try Expression.parse("xds." + name)
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)
        #expect(throws: ExpressionSyntaxError.self) { try Expression.parse(deep) }
    }

    /// Texts that are well-formed but would exhaust the guest's stack when
    /// parsed or evaluated: each is refused as beyond the limits.
    static let oversized: [String] = [
        Array(repeating: "'a'", count: 500).joined(separator: "+"),  // a 500-deep tree of `+`
        String(repeating: "!", count: 1000) + "true",
        String(repeating: "!", count: 3000) + "true",
        "request" + String(repeating: "[0]", count: 100),
        "request.host" + String(repeating: ".startsWith('a')", count: 60),
        String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40),
        Array(repeating: "request.host == 'b'", count: 200).joined(separator: " || "),
        Array(repeating: "1", count: 40).joined(separator: " * "),
        String(repeating: "-", count: 40) + "1",
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
        "'" + String(repeating: "x", count: 5000) + "'",
    ]

    @Test(arguments: oversized.indices)
    func expressionsBeyondTheLimitsAreRefusedAsSuch(_ index: Int) {
        do {
            _ = try Expression.parse(Self.oversized[index])
            Issue.record("accepted")
        } catch {
            #expect(error.exceedsLimit, "\(error.message)")
        }
    }

    @Test func limitMessagesStateTheLimits() {
        #expect(ExpressionParser.tooDeep == "nested deeper than \(ExpressionLimits.maxDepth) levels")
        #expect(
            throws: ExpressionSyntaxError(position: 0, reason: "expression longer than \(ExpressionLimits.maxSourceBytes) bytes", exceedsLimit: true)
        ) {
            try Expression.parse(String(repeating: " ", count: ExpressionLimits.maxSourceBytes + 1))
        }
        let many = "string(" + Array(repeating: "1", count: ExpressionLimits.maxNodes).joined(separator: ",") + ")"
        #expect(throws: ExpressionSyntaxError(position: many.utf8.count, reason: "more than \(ExpressionLimits.maxNodes) terms", exceedsLimit: true))
        {
            try Expression.parse(many)
        }
    }

    @Test func expressionsJustWithinTheLimitsParseAndEvaluate() throws {
        // 31 levels of `!` plus the literal: 32 deep.
        let negations = try Expression.parse(String(repeating: "!", count: 31) + "true")
        #expect(negations.evaluate(Attributes()) == .bool(false))
        // A flat chain of `+` is as deep as it is long: 32 terms is 32 levels.
        let sum = try Expression.parse(Array(repeating: "1", count: 32).joined(separator: "+"))
        #expect(sum.evaluate(Attributes()) == .int(32))
        #expect(throws: ExpressionSyntaxError.self) { try Expression.parse(Array(repeating: "1", count: 33).joined(separator: "+")) }
        // Long attribute paths are one node, whatever their length.
        _ = try Expression.parse("request" + String(repeating: ".b", count: 300))
    }

    @Test func concatenationIsBoundedAtEvaluation() throws {
        let big = String(repeating: "y", count: ExpressionLimits.maxStringBytes)
        let expression = try Expression.parse("request.host + 'z'")
        let attributes = Attributes()
        attributes.values["request.host"] = .string(big)
        #expect(expression.evaluate(attributes) == nil)
        attributes.values["request.host"] = .string("a")
        #expect(expression.evaluate(attributes) == .string("az"))
    }
}

/// Istio's label rules, one by one.
@Suite("Istio labels")
struct IstioLabelTests {
    @Test func theTableHasIstiosOrderAndCutOffs() {
        #expect(IstioLabel.names.count == 25)
        #expect(IstioLabel.names.first == "reporter" && IstioLabel.names.last == "grpc_response_status")
        #expect(IstioLabel.peerLabelCount == 20 && IstioLabel.names[19] == "destination_cluster")
        #expect(IstioLabel.tcpLabelCount == 23 && IstioLabel.names[22] == "connection_security_policy")
    }

    static let flags: [(UInt64, String)] = [
        (0, "-"), (0x1, "LH"), (0x2 | 0x20, "UH,UF"), (0x4000, "DC"), (0x2000000, "OM"),
        (0x4000000, "67108864"), (0x4000001, "LH,67108865"),
    ]

    @Test(arguments: flags.indices)
    func responseFlagsUseIstiosNames(_ index: Int) {
        #expect(IstioStats.responseFlags(Self.flags[index].0) == Self.flags[index].1)
    }

    static func facts(_ configure: (inout RequestFacts) -> Void) -> RequestFacts {
        var facts = RequestFacts()
        configure(&facts)
        return facts
    }

    nonisolated(unsafe) static let services: [(String, RequestFacts, Bool, String?, String, String)] = [
        (
            "service metadata wins",
            facts {
                $0.host = "a:80"
                $0.serviceName = "reviews"
                $0.serviceHost = "reviews.default.svc.cluster.local"
            },
            true, nil, "reviews.default.svc.cluster.local", "reviews"
        ),
        ("host header fallback", facts { $0.host = "127.0.0.1:9080" }, true, nil, "127.0.0.1:9080", "127.0.0.1:9080"),
        ("outbound without host", facts { _ = $0 }, true, nil, "unknown", "unknown"),
        ("inbound without host uses the local canonical name", facts { _ = $0 }, false, "ratings", "ratings", "ratings"),
        (
            "block_all route",
            facts {
                $0.host = "x"
                $0.routeName = "block_all"
            }, true, nil, "x", "BlackHoleCluster"
        ),
        ("allow_any route", facts { $0.routeName = "allow_any" }, true, nil, "unknown", "PassthroughCluster"),
        (
            "inbound passthrough", facts { $0.clusterName = "InboundPassthroughClusterIpv4" }, false, nil, "unknown",
            "InboundPassthroughClusterIpv4"
        ),
    ]

    @Test(arguments: services.indices)
    func destinationServiceFollowsIstio(_ index: Int) {
        let (name, facts, outbound, canonical, service, serviceName) = Self.services[index]
        let result = IstioStats.destinationService(facts, outbound: outbound, localCanonicalService: canonical)
        #expect(result.service == service && result.name == serviceName, "\(name)")
    }

    static let spiffeIDs: [(String, String?)] = [
        ("spiffe://cluster.local/ns/frontend/sa/web", "frontend"),
        ("spiffe://td/ns/a-b/sa/x", "a-b"),
        ("spiffe://cluster.local/ns//sa/web", nil),
        ("spiffe://cluster.local/ns/frontend/sa/", nil),
        ("spiffe://cluster.local/ns/frontend", nil),
        ("spiffe://cluster.local/ns/frontend/sa/web/extra", nil),
        ("spiffe://cluster.local/nx/frontend/sa/web", nil),
        ("spiffe:///ns/frontend/sa/web", nil),
        ("https://cluster.local/ns/frontend/sa/web", nil),
        ("", nil),
    ]

    @Test(arguments: spiffeIDs.indices)
    func spiffeIDsGiveTheirNamespace(_ index: Int) {
        #expect(SPIFFEID.namespace(Self.spiffeIDs[index].0) == Self.spiffeIDs[index].1, "\(Self.spiffeIDs[index].0)")
    }

    static func label(_ values: [String], _ name: String) -> String {
        values[IstioLabel.names.firstIndex(of: name)!]
    }

    /// Without a peer, the namespaces come from what the proxy knows; a peer's own namespace wins.
    @Test func namespacesWithoutAPeerComeFromTheCertificateAndTheService() {
        var local = WorkloadLabels()
        local.workload = "gateway"
        local.namespace = "edge"
        let noPeer = WorkloadLabels()
        let outbound = IstioStats.labels(
            outbound: true, local: local, peer: noPeer,
            facts: Self.facts {
                $0.serviceNamespace = "shop"
                $0.serviceName = "cart"
                $0.destinationPrincipal = "spiffe://cluster.local/ns/payments/sa/cart"
                $0.responseCode = 503
            }, localCanonicalService: nil)
        #expect(Self.label(outbound, "destination_service_namespace") == "shop")
        #expect(Self.label(outbound, "destination_workload_namespace") == "payments")
        #expect(Self.label(outbound, "destination_workload") == "unknown")
        let withoutCertificate = IstioStats.labels(
            outbound: true, local: local, peer: noPeer,
            facts: Self.facts {
                $0.serviceName = "cart"
            }, localCanonicalService: nil)
        #expect(Self.label(withoutCertificate, "destination_service_namespace") == "unknown")
        #expect(Self.label(withoutCertificate, "destination_workload_namespace") == "unknown")
        let inbound = IstioStats.labels(
            outbound: false, local: local, peer: noPeer,
            facts: Self.facts {
                $0.sourcePrincipal = "spiffe://cluster.local/ns/frontend/sa/web"
            }, localCanonicalService: nil)
        #expect(Self.label(inbound, "source_workload_namespace") == "frontend")
        #expect(Self.label(inbound, "destination_service_namespace") == "edge")
        var peer = WorkloadLabels()
        peer.workload = "cart-v1"
        peer.namespace = "default"
        let exchanged = IstioStats.labels(
            outbound: true, local: local, peer: peer,
            facts: Self.facts {
                $0.serviceNamespace = "shop"
                $0.destinationPrincipal = "spiffe://cluster.local/ns/payments/sa/cart"
            }, localCanonicalService: nil)
        #expect(Self.label(exchanged, "destination_service_namespace") == "default")
        #expect(Self.label(exchanged, "destination_workload_namespace") == "default")
    }

    @Test func peersWithoutLabelsGetEmptyAppAndLatestRevision() {
        var node = PeerNode()
        node.workloadName = "w"
        var labels = WorkloadLabels(node)
        #expect(labels.canonicalService == "" && labels.canonicalRevision == "latest" && labels.app == "")
        node.labels = []
        labels = WorkloadLabels(node)
        #expect(labels.canonicalService == "w")  // a label vector without the canonical name falls back to the workload
    }

    @Test func emptyLabelsBecomeUnknownExceptGRPCStatus() {
        let values = IstioStats.labels(
            outbound: false, local: WorkloadLabels(), peer: WorkloadLabels(), facts: RequestFacts(),
            localCanonicalService: nil)
        #expect(values[IstioLabel.reporter.rawValue] == "destination")
        #expect(values[IstioLabel.sourceWorkload.rawValue] == "unknown")
        #expect(values[IstioLabel.sourceCanonicalRevision.rawValue] == "latest")
        #expect(values[IstioLabel.connectionSecurityPolicy.rawValue] == "unknown")
        #expect(values[IstioLabel.responseCode.rawValue] == "0")
        #expect(values[IstioLabel.grpcResponseStatus.rawValue] == "")
        var grpc = RequestFacts()
        grpc.isGRPC = true
        grpc.mtls = true
        let grpcValues = IstioStats.labels(
            outbound: false, local: WorkloadLabels(), peer: WorkloadLabels(), facts: grpc,
            localCanonicalService: nil)
        #expect(grpcValues[IstioLabel.grpcResponseStatus.rawValue] == "2")  // absent status reads as 2 (Unknown)
        #expect(grpcValues[IstioLabel.requestProtocol.rawValue] == "grpc")
        #expect(grpcValues[IstioLabel.connectionSecurityPolicy.rawValue] == "mutual_tls")
    }

    @Test func statNamesEncodeTagsAndNeutraliseSeparatorsInValues() {
        #expect(
            IstioStats.statName(metric: "requests_total", tags: [("reporter", "source"), ("response_code", "200")])
                == "reporter=.=source;.;response_code=.=200;.;istio_requests_total")
        #expect(IstioStats.statName(metric: "x", tags: [("a", "v;.;b=.=c")]) == "a=.=v___b___c;.;istio_x")
        #expect(IstioStats.statName(metric: "x", tags: [("a", "1")], fieldSeparator: ";;", valueSeparator: "==") == "a==1;;istio_x")
    }
}
