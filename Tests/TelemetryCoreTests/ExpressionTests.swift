@testable import TelemetryCore
import Testing

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
            "upstream_peer": .map([(key: "labels", value: .map([(key: "app", value: .map([(key: "key", value: .string("app")),
                                                                                                 (key: "value", value: .string("ratings"))]))]))]),
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
        ("missing.attribute", nil),
        ("'a' + 1", nil),
        ("request.host ? 'x' : 'y'", nil),
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
        ("(a + b", 6, "expected ')', found end of expression"),
        ("a ? b", 5, "expected ':' in a conditional, found end of expression"),
        ("'unterminated", 0, "unterminated string"),
        ("size(x)", 7, "unknown function 'size'"),
        ("a.lower()", 9, "unknown method 'lower'"),
        ("a b", 2, "unexpected 'b'"),
        ("node.metadata['k'", 17, "expected ']', found end of expression"),
        ("#", 0, "unexpected '#'"),
    ]

    @Test(arguments: syntaxErrors.indices)
    func syntaxErrorsNameThePosition(_ index: Int) {
        let (text, position, reason) = Self.syntaxErrors[index]
        #expect(throws: ExpressionSyntaxError(position: position, reason: reason)) { try Expression.parse(text) }
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
        "x" + String(repeating: "[0]", count: 100),
        "x" + String(repeating: ".startsWith('a')", count: 60),
        String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40),
        Array(repeating: "a == b", count: 200).joined(separator: " || "),
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
        #expect(throws: ExpressionSyntaxError(position: 0, reason: "expression longer than \(ExpressionLimits.maxSourceBytes) bytes", exceedsLimit: true)) {
            try Expression.parse(String(repeating: " ", count: ExpressionLimits.maxSourceBytes + 1))
        }
        let many = "string(" + Array(repeating: "1", count: ExpressionLimits.maxNodes).joined(separator: ",") + ")"
        #expect(throws: ExpressionSyntaxError(position: many.utf8.count, reason: "more than \(ExpressionLimits.maxNodes) terms", exceedsLimit: true)) {
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
        _ = try Expression.parse("a" + String(repeating: ".b", count: 300))
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
        ("service metadata wins", facts { $0.host = "a:80"; $0.serviceName = "reviews"; $0.serviceHost = "reviews.default.svc.cluster.local" },
         true, nil, "reviews.default.svc.cluster.local", "reviews"),
        ("host header fallback", facts { $0.host = "127.0.0.1:9080" }, true, nil, "127.0.0.1:9080", "127.0.0.1:9080"),
        ("outbound without host", facts { _ = $0 }, true, nil, "unknown", "unknown"),
        ("inbound without host uses the local canonical name", facts { _ = $0 }, false, "ratings", "ratings", "ratings"),
        ("block_all route", facts { $0.host = "x"; $0.routeName = "block_all" }, true, nil, "x", "BlackHoleCluster"),
        ("allow_any route", facts { $0.routeName = "allow_any" }, true, nil, "unknown", "PassthroughCluster"),
        ("inbound passthrough", facts { $0.clusterName = "InboundPassthroughClusterIpv4" }, false, nil, "unknown",
         "InboundPassthroughClusterIpv4"),
    ]

    @Test(arguments: services.indices)
    func destinationServiceFollowsIstio(_ index: Int) {
        let (name, facts, outbound, canonical, service, serviceName) = Self.services[index]
        let result = IstioStats.destinationService(facts, outbound: outbound, localCanonicalService: canonical)
        #expect(result.service == service && result.name == serviceName, "\(name)")
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
        let values = IstioStats.labels(outbound: false, local: WorkloadLabels(), peer: WorkloadLabels(), facts: RequestFacts(),
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
        let grpcValues = IstioStats.labels(outbound: false, local: WorkloadLabels(), peer: WorkloadLabels(), facts: grpc,
                                           localCanonicalService: nil)
        #expect(grpcValues[IstioLabel.grpcResponseStatus.rawValue] == "2")  // absent status reads as 2 (Unknown)
        #expect(grpcValues[IstioLabel.requestProtocol.rawValue] == "grpc")
        #expect(grpcValues[IstioLabel.connectionSecurityPolicy.rawValue] == "mutual_tls")
    }

    @Test func statNamesEncodeTagsAndNeutraliseSeparatorsInValues() {
        #expect(IstioStats.statName(metric: "requests_total", tags: [("reporter", "source"), ("response_code", "200")])
                == "reporter=.=source;.;response_code=.=200;.;istio_requests_total")
        #expect(IstioStats.statName(metric: "x", tags: [("a", "v;.;b=.=c")]) == "a=.=v___b___c;.;istio_x")
        #expect(IstioStats.statName(metric: "x", tags: [("a", "1")], fieldSeparator: ";;", valueSeparator: "==") == "a==1;;istio_x")
    }
}
