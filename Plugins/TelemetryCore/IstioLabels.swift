// Istio's standard metric labels (istio/proxy 1.12 `extensions/stats/plugin.h`
// STD_ISTIO_DIMENSIONS): one table drives their order, the cut-offs for gRPC
// message (first 20) and TCP (first 23) metrics, and how each is computed.

/// The 25 standard labels, in Istio's order.
public enum IstioLabel: Int, CaseIterable {
    case reporter, sourceWorkload, sourceWorkloadNamespace, sourcePrincipal, sourceApp, sourceVersion
    case sourceCanonicalService, sourceCanonicalRevision, sourceCluster
    case destinationWorkload, destinationWorkloadNamespace, destinationPrincipal, destinationApp, destinationVersion
    case destinationService, destinationServiceName, destinationServiceNamespace
    case destinationCanonicalService, destinationCanonicalRevision, destinationCluster
    case requestProtocol, responseFlags, connectionSecurityPolicy, responseCode, grpcResponseStatus

    public static let names: [String] = [
        "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
        "source_canonical_service", "source_canonical_revision", "source_cluster",
        "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
        "destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
        "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
        "request_protocol", "response_flags", "connection_security_policy", "response_code", "grpc_response_status",
    ]

    public var name: String { Self.names[rawValue] }

    /// gRPC message metrics carry labels 0..<20 (the peer labels).
    public static let peerLabelCount = IstioLabel.destinationCluster.rawValue + 1
    /// TCP metrics carry labels 0..<23.
    public static let tcpLabelCount = IstioLabel.connectionSecurityPolicy.rawValue + 1
}

/// Which proxy reports a request, and so which workloads its labels name
/// (Istio's `reporter` label).
public enum ReporterRole: Equatable, Sendable {
    /// A client sidecar, an ingress or an egress gateway: the proxy itself is
    /// the source, its upstream peer the destination.
    case source
    /// A server sidecar: its downstream peer is the source, the proxy itself the destination.
    case destination
    /// A waypoint (Istio's `SERVER_GATEWAY`): it is neither end, so its
    /// downstream peer is the source and its upstream peer the destination.
    case waypoint

    /// The `reporter` label value.
    public var label: String {
        switch self {
        case .source: return "source"
        case .destination: return "destination"
        case .waypoint: return "waypoint"
        }
    }
}

/// What a stream tells the stats filter, gathered from properties.
public struct RequestFacts {
    public var isTCP = false
    public var isGRPC = false
    /// Host header (only when the host fallback is enabled).
    public var host: String?
    public var routeName: String?
    public var clusterName: String?
    /// `xds.cluster_metadata.filter_metadata.istio.services[0]`.
    public var serviceName: String?
    public var serviceHost: String?
    public var serviceNamespace: String?
    public var sourcePrincipal = ""
    public var destinationPrincipal = ""
    /// Inbound only: `connection.mtls`, nil when absent.
    public var mtls: Bool?
    public var responseCode: Int64 = 0
    public var responseFlags: UInt64 = 0
    public var grpcStatus: Int64?

    public init() {}
}

/// The local (or peer) side's workload labels for stats.
public struct WorkloadLabels: Equatable {
    public var workload = ""
    public var namespace = ""
    public var app = ""
    public var version = ""
    public var canonicalService = ""
    public var canonicalRevision = "latest"
    public var cluster = ""

    public init() {}

    /// Istio's `map_node`: labels from the FlatNode's label vector; when the
    /// vector is absent, app/version/canonical service stay empty and the
    /// canonical revision is `latest`.
    public init(_ node: PeerNode) {
        workload = node.workloadName ?? ""
        namespace = node.namespace ?? ""
        cluster = node.clusterID ?? ""
        if node.labels != nil {
            app = node.label("app") ?? ""
            version = node.label("version") ?? ""
            canonicalService = node.label("service.istio.io/canonical-name") ?? workload
            canonicalRevision = node.label("service.istio.io/canonical-revision") ?? "latest"
        }
    }
}

public enum IstioStats {
    /// Envoy response-flag bits in Istio's order (`extensions/common/util.cc`).
    static let responseFlagNames: [String] = [
        "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI", "IH",
        "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM",
    ]

    /// `response.flags` as Istio writes it: short names joined by ',', `-` for none.
    public static func responseFlags(_ flags: UInt64) -> String {
        var parts: [String] = []
        for (bit, name) in responseFlagNames.enumerated() where flags & (1 << UInt64(bit)) != 0 { parts.append(name) }
        if flags >= 1 << UInt64(responseFlagNames.count) { parts.append(String(flags)) }
        if parts.isEmpty { return "-" }
        var text = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { text += "," }
            text += part
        }
        return text
    }

    /// Istio's destination service: (destination_service, destination_service_name).
    public static func destinationService(_ facts: RequestFacts, outbound: Bool, localCanonicalService: String?)
        -> (service: String, name: String)
    {
        var host = facts.host ?? (outbound ? "unknown" : (localCanonicalService ?? "unknown"))
        var name: String
        if let route = facts.routeName, UTF8Text.equal(route, "block_all") {
            name = "BlackHoleCluster"
        } else if let route = facts.routeName, UTF8Text.equal(route, "allow_any") {
            name = "PassthroughCluster"
        } else if let cluster = facts.clusterName,
            UTF8Text.isListed(cluster, in: "BlackHoleCluster, PassthroughCluster, InboundPassthroughClusterIpv4, InboundPassthroughClusterIpv6")
        {
            name = cluster
        } else if let service = facts.serviceName {
            name = service
            if let serviceHost = facts.serviceHost { host = serviceHost }
        } else {
            name = host
        }
        if host.isEmpty { host = "unknown" }
        if name.isEmpty { name = "unknown" }
        return (host, name)
    }

    /// The 25 label values for one report (empties become `unknown`, then
    /// `grpc_response_status` is set: empty unless gRPC), for a sidecar:
    /// outbound reports as the source with `local` as source, inbound as the
    /// destination with `local` as destination.
    public static func labels(
        outbound: Bool, local: WorkloadLabels, peer: WorkloadLabels, facts: RequestFacts,
        localCanonicalService: String?
    ) -> [String] {
        labels(
            role: outbound ? .source : .destination, source: outbound ? local : peer,
            destination: outbound ? peer : local, facts: facts, localCanonicalService: localCanonicalService)
    }

    /// The 25 label values for one report by `role`, with the source and
    /// destination workloads already chosen (a waypoint's are both peers).
    public static func labels(
        role: ReporterRole, source: WorkloadLabels, destination: WorkloadLabels, facts: RequestFacts,
        localCanonicalService: String?
    ) -> [String] {
        var values = [String](repeating: "", count: IstioLabel.allCases.count)
        values[IstioLabel.reporter.rawValue] = role.label
        // Without a peer, the namespaces it would have given come from what the
        // proxy knows: the peer certificate's SPIFFE id, the cluster's service.
        let sourceNamespace = source.namespace.isEmpty ? (SPIFFEID.namespace(facts.sourcePrincipal) ?? "") : source.namespace
        let destinationNamespace =
            destination.namespace.isEmpty
            ? (SPIFFEID.namespace(facts.destinationPrincipal) ?? "") : destination.namespace
        values[IstioLabel.sourceWorkload.rawValue] = source.workload
        values[IstioLabel.sourceWorkloadNamespace.rawValue] = sourceNamespace
        values[IstioLabel.sourcePrincipal.rawValue] = facts.sourcePrincipal
        values[IstioLabel.sourceApp.rawValue] = source.app
        values[IstioLabel.sourceVersion.rawValue] = source.version
        values[IstioLabel.sourceCanonicalService.rawValue] = source.canonicalService
        values[IstioLabel.sourceCanonicalRevision.rawValue] = source.canonicalRevision
        values[IstioLabel.sourceCluster.rawValue] = source.cluster
        values[IstioLabel.destinationWorkload.rawValue] = destination.workload
        values[IstioLabel.destinationWorkloadNamespace.rawValue] = destinationNamespace
        values[IstioLabel.destinationPrincipal.rawValue] = facts.destinationPrincipal
        values[IstioLabel.destinationApp.rawValue] = destination.app
        values[IstioLabel.destinationVersion.rawValue] = destination.version
        // Only a server sidecar is the destination itself: the others name it
        // from the cluster's service or the Host header, never from local labels.
        let service = destinationService(facts, outbound: role != .destination, localCanonicalService: localCanonicalService)
        values[IstioLabel.destinationService.rawValue] = service.service
        values[IstioLabel.destinationServiceName.rawValue] = service.name
        values[IstioLabel.destinationServiceNamespace.rawValue] =
            destination.namespace.isEmpty
            ? (facts.serviceNamespace ?? destinationNamespace) : destination.namespace
        values[IstioLabel.destinationCanonicalService.rawValue] = destination.canonicalService
        values[IstioLabel.destinationCanonicalRevision.rawValue] = destination.canonicalRevision
        values[IstioLabel.destinationCluster.rawValue] = destination.cluster
        values[IstioLabel.requestProtocol.rawValue] = facts.isTCP ? "tcp" : (facts.isGRPC ? "grpc" : "http")
        values[IstioLabel.responseFlags.rawValue] = responseFlags(facts.responseFlags)
        // The security of the connection the request arrived on: known where
        // that connection is the downstream one (server sidecar, waypoint).
        if role != .source, let mtls = facts.mtls {
            values[IstioLabel.connectionSecurityPolicy.rawValue] = mtls ? "mutual_tls" : "none"
        }
        values[IstioLabel.responseCode.rawValue] = String(facts.responseCode)
        for index in 0..<values.count where values[index].isEmpty { values[index] = "unknown" }
        values[IstioLabel.grpcResponseStatus.rawValue] = facts.isGRPC ? String(facts.grpcStatus ?? 2) : ""
        return values
    }

    /// Istio's stat name: `t1=.=v1;.;...;.;tn=.=vn;.;istio_<metric>`.
    /// Values are written through `appendLabelValue`, so no value can break
    /// Envoy's tag extraction (documented deviation from Istio, which writes
    /// them unchanged). Built on bytes: this runs per request.
    public static func statName(
        metric: String, tags: [(String, String)], fieldSeparator: String = ";.;",
        valueSeparator: String = "=.="
    ) -> String {
        statNamePrefix(tags: tags, fieldSeparator: fieldSeparator, valueSeparator: valueSeparator) + "istio_" + metric
    }

    /// The tag part of a stat name (everything before `istio_<metric>`).
    public static func statNamePrefix(
        tags: [(String, String)], fieldSeparator: String = ";.;",
        valueSeparator: String = "=.="
    ) -> String {
        String(
            decoding: statNamePrefixBytes(tags: tags, fieldSeparator: fieldSeparator, valueSeparator: valueSeparator),
            as: UTF8.self)
    }

    /// `statNamePrefix` as bytes (no string is built until a metric is defined).
    public static func statNamePrefixBytes(
        tags: [(String, String)], fieldSeparator: String = ";.;",
        valueSeparator: String = "=.="
    ) -> [UInt8] {
        var name: [UInt8] = []
        name.reserveCapacity(64 * tags.count + 32)
        let field = Array(fieldSeparator.utf8)
        let value = Array(valueSeparator.utf8)
        for (tag, text) in tags {
            append(tag, to: &name)
            name.append(contentsOf: value)
            appendLabelValue(text, to: &name, fieldSeparator: field, valueSeparator: value)
            name.append(contentsOf: field)
        }
        return name
    }

    @inline(__always)
    static func append(_ text: String, to bytes: inout [UInt8]) {
        var copy = text
        copy.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// The byte every neutralised byte or sequence becomes.
    static let replacement = UInt8(ascii: "_")

    /// Appends a label value so that Envoy's tag regexes (`(tag=\.=(.*?);\.;)`,
    /// std::regex or RE2) capture exactly it, whatever a peer or a header sent:
    /// 1. line breaks and other control characters (bytes 0x00-0x1F and 0x7F,
    ///    and U+0085, U+2028, U+2029) become `_`: a regex `.` does not match
    ///    line terminators, so the tag would not be extracted; `"` and `\\`
    ///    become `_` too: Envoy writes label values into `/stats/prometheus`
    ///    unescaped, and one of them would make the whole scrape unparseable;
    /// 2. every occurrence of the field or the value separator becomes `_`s;
    /// 3. a value ending in the start of the field separator (`;.` for `;.;`)
    ///    has that tail replaced by `_`s: followed by the separator, it would
    ///    end the value early and leave `.;` in the metric name.
    static func appendLabelValue(_ text: String, to name: inout [UInt8], fieldSeparator: [UInt8], valueSeparator: [UInt8]) {
        let start = name.count
        var copy = text
        copy.withUTF8 { utf8 in
            var clean = true
            for byte in utf8 where byte < 0x20 || byte == 0x7F || byte == 0x22 || byte == 0x5C || byte == 0xC2 || byte == 0xE2 {
                clean = false
                break
            }
            if clean {
                name.append(contentsOf: utf8)
                return
            }
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                if byte < 0x20 || byte == 0x7F || byte == 0x22 || byte == 0x5C {
                    name.append(replacement)
                    index += 1
                } else if byte == 0xC2, index + 1 < utf8.count, utf8[index + 1] == 0x85 {
                    name.append(replacement)  // U+0085 NEXT LINE
                    index += 2
                } else if byte == 0xE2, index + 2 < utf8.count, utf8[index + 1] == 0x80,
                    utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9
                {
                    name.append(replacement)  // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
                    index += 3
                } else {
                    name.append(byte)
                    index += 1
                }
            }
        }
        neutralize(&name, from: start, fieldSeparator)
        neutralize(&name, from: start, valueSeparator)
        neutralizeDanglingStart(&name, from: start, of: fieldSeparator)
    }

    /// Replaces every occurrence of `separator` in `bytes[start...]` with `_`s.
    static func neutralize(_ bytes: inout [UInt8], from start: Int, _ separator: [UInt8]) {
        guard let first = separator.first, bytes.count - start >= separator.count else { return }
        var index = start
        while index + separator.count <= bytes.count {
            if bytes[index] == first {
                var matches = true
                for offset in 1..<separator.count where bytes[index + offset] != separator[offset] {
                    matches = false
                    break
                }
                if matches {
                    for offset in 0..<separator.count { bytes[index + offset] = replacement }
                    index += separator.count
                    continue
                }
            }
            index += 1
        }
    }

    /// Replaces a tail of `bytes[start...]` that, followed by `separator`,
    /// would contain the separator starting inside the value: a tail equal to
    /// the separator's first k bytes where the separator's first n-k bytes are
    /// also its last (for `;.;`: the tail `;.`).
    static func neutralizeDanglingStart(_ bytes: inout [UInt8], from start: Int, of separator: [UInt8]) {
        let n = separator.count
        guard n > 1 else { return }
        for k in stride(from: n - 1, through: 1, by: -1) where bytes.count - start >= k {
            let tail = bytes.count - k
            var isPrefix = true
            for offset in 0..<k where bytes[tail + offset] != separator[offset] {
                isPrefix = false
                break
            }
            guard isPrefix else { continue }
            var isBorder = true
            for offset in 0..<(n - k) where separator[offset] != separator[k + offset] {
                isBorder = false
                break
            }
            guard isBorder else { continue }
            for offset in 0..<k { bytes[tail + offset] = replacement }
        }
    }
}
