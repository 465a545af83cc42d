import Foundation
import TelemetryCore

/// What one sidecar proxies: its inbound listener in front of the local app,
/// its outbound listeners to other services, and the mTLS identity its
/// sidecars share. The input of `EnvoySidecarConfig.bootstrap(_:statsConfig:)`.
public struct SidecarSpec {
    /// A host and port, as written `host:port` or `[v6 address]:port`.
    public struct Address: Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Reads `host:port`; nil when the port is missing or out of range.
        public init?(parsing text: String) {
            var rest = Substring(text)
            var host: Substring
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else { return nil }
                host = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(close, offsetBy: 2)...]
            } else {
                guard let colon = rest.lastIndex(of: ":") else { return nil }
                host = rest[..<colon]
                rest = rest[rest.index(after: colon)...]
            }
            guard !host.isEmpty, let port = Int(rest), (1...65535).contains(port) else { return nil }
            self.init(host: String(host), port: port)
        }

        /// True when the host is an IPv4 or IPv6 address rather than a name to resolve.
        var isIPAddress: Bool {
            var v4 = in_addr()
            var v6 = in6_addr()
            return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
        }
    }

    /// How an outbound listener's traffic is proxied and reported.
    public enum OutboundProtocol: String, CaseIterable {
        /// HTTP/1.1 to the upstream sidecar; HTTP filters, `istio_requests_total`.
        case http
        /// HTTP/2 (gRPC) to the upstream sidecar.
        case http2
        /// Opaque TCP; network filters, `istio_tcp_*`, metadata exchanged in-band
        /// after ALPN `istio-peer-exchange` (needs mTLS).
        case tcp
    }

    /// One outbound listener: local traffic to `port` goes to `service`,
    /// whose sidecar listens at `upstream`.
    public struct Outbound: Equatable {
        public var protocolName: OutboundProtocol
        public var port: Int
        /// The destination service's host name, `name.namespace.svc...`.
        public var service: String
        public var upstream: Address

        public init(protocolName: OutboundProtocol, port: Int, service: String, upstream: Address) {
            self.protocolName = protocolName
            self.port = port
            self.service = service
            self.upstream = upstream
        }

        /// Reads `PROTOCOL:PORT=SERVICE@HOST:PORT`, e.g.
        /// `http:9081=reviews.default.svc.cluster.local@10.0.0.5:15006`.
        public init(parsing text: String) throws {
            let shape = "expected PROTOCOL:PORT=SERVICE@HOST:PORT (PROTOCOL one of http, http2, tcp), found \"\(text)\""
            guard let colon = text.firstIndex(of: ":"), let equals = text.firstIndex(of: "="), colon < equals,
                let at = text[equals...].firstIndex(of: "@")
            else { throw EnvoySidecarConfig.Problem(message: "outbound: \(shape)") }
            guard let protocolName = OutboundProtocol(rawValue: String(text[..<colon])) else {
                throw EnvoySidecarConfig.Problem(message: "outbound: unknown protocol; \(shape)")
            }
            guard let port = Int(text[text.index(after: colon)..<equals]), (1...65535).contains(port) else {
                throw EnvoySidecarConfig.Problem(message: "outbound: the listener port is not a port number; \(shape)")
            }
            let service = String(text[text.index(after: equals)..<at])
            guard SidecarSpec.isHostName(service) else {
                throw EnvoySidecarConfig.Problem(message: "outbound: the service must be a host name; \(shape)")
            }
            guard let upstream = Address(parsing: String(text[text.index(after: at)...])) else {
                throw EnvoySidecarConfig.Problem(message: "outbound: the upstream is not HOST:PORT; \(shape)")
            }
            self.init(protocolName: protocolName, port: port, service: service, upstream: upstream)
        }
    }

    /// The PEM files of the workload's mTLS identity.
    public struct TLSFiles: Equatable {
        public var certificateChain: String
        public var privateKey: String
        public var trustedCA: String

        public init(certificateChain: String, privateKey: String, trustedCA: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.trustedCA = trustedCA
        }
    }

    /// True for a DNS host name: letters, digits, `-` and `.` (the cluster metadata and names carry it).
    public static func isHostName(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x2E
            }
    }

    /// The node id Envoy reports; listener names start with it too.
    public var name: String
    /// Istio's node metadata (`NAME`, `NAMESPACE`, `LABELS`, `WORKLOAD_NAME`, ...):
    /// what the plugins report about this workload and send to its peers.
    public var nodeMetadata: [String: Any]
    /// The directory holding metadata_exchange.wasm and stats.wasm, as Envoy will see it.
    public var moduleDirectory: String
    /// The address every listener binds.
    public var listenAddress: String
    public var adminPort: Int
    /// The inbound listener's port and the local app behind it; nil: no inbound listener.
    public var inbound: (port: Int, app: Address)?
    /// The services the app serves (host names), on the inbound cluster as
    /// Istio puts them, so the inbound side reports them as `destination_service`
    /// (empty: the Host header, Istio's fallback).
    public var inboundServices: [String]
    public var outbound: [Outbound]
    /// Without it, HTTP goes in plaintext and TCP cannot be exchanged.
    public var tls: TLSFiles?
    /// Plugin configurations (JSON text; empty: none).
    public var metadataExchangeConfiguration: String
    public var outboundStatsConfiguration: String
    public var inboundStatsConfiguration: String

    public init(
        name: String, nodeMetadata: [String: Any] = [:], moduleDirectory: String, listenAddress: String = "0.0.0.0",
        adminPort: Int = 15000, inbound: (port: Int, app: Address)? = nil, inboundServices: [String] = [], outbound: [Outbound] = [],
        tls: TLSFiles? = nil,
        metadataExchangeConfiguration: String = "", outboundStatsConfiguration: String = "", inboundStatsConfiguration: String = ""
    ) {
        self.name = name
        self.nodeMetadata = nodeMetadata
        self.moduleDirectory = moduleDirectory
        self.listenAddress = listenAddress
        self.adminPort = adminPort
        self.inbound = inbound
        self.inboundServices = inboundServices
        self.outbound = outbound
        self.tls = tls
        self.metadataExchangeConfiguration = metadataExchangeConfiguration
        self.outboundStatsConfiguration = outboundStatsConfiguration
        self.inboundStatsConfiguration = inboundStatsConfiguration
    }
}

/// A complete Envoy bootstrap for one sidecar with both plugins in Istio's
/// order: HTTP chains `metadata_exchange`, `stats`, router; the inbound TCP
/// chain (selected by ALPN `istio-peer-exchange`) `metadata_exchange`,
/// `stats`, tcp_proxy; outbound TCP `stats`, `metadata_exchange`, tcp_proxy
/// (stats first, so it sees the upstream peer the exchange records). Plugin
/// VMs are named as Istio names them (`stats_outbound`, `tcp_stats_inbound`, ...).
public enum EnvoySidecarConfig {
    public struct Problem: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The ALPN an upstream offers to say it runs the TCP metadata exchange.
    public static let peerExchangeALPN = PeerExchange.alpn
    static let wasmNetworkFilter = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
    static let wasmHTTPFilter = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"

    /// The bootstrap, with `statsConfig` (from `EnvoyStatsConfig.statsConfig`) as its `stats_config`.
    public static func bootstrap(_ spec: SidecarSpec, statsConfig: [String: Any]) throws -> [String: Any] {
        try check(spec)
        var listeners: [[String: Any]] = []
        var clusters: [[String: Any]] = []
        if let inbound = spec.inbound {
            let appCluster = "inbound|\(inbound.port)||"
            listeners.append(inboundListener(spec, port: inbound.port, appCluster: appCluster))
            var app = cluster(name: appCluster, address: inbound.app)
            if !spec.inboundServices.isEmpty { app["metadata"] = servicesMetadata(spec.inboundServices) }
            clusters.append(app)
        }
        for outbound in spec.outbound {
            let name = "outbound|\(outbound.port)||\(outbound.service)"
            listeners.append(outboundListener(spec, outbound, cluster: name))
            var upstream = cluster(name: name, address: outbound.upstream)
            upstream["metadata"] = servicesMetadata([outbound.service])
            if outbound.protocolName == .http2 {
                upstream["typed_extension_protocol_options"] = [
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": [
                        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        "explicit_http_config": ["http2_protocol_options": [String: Any]()],
                    ]
                ]
            }
            if let tls = spec.tls {
                upstream["transport_socket"] = transportSocket(
                    "UpstreamTlsContext", common: commonTLS(tls, alpn: upstreamALPN(outbound.protocolName)))
            }
            clusters.append(upstream)
        }
        var node: [String: Any] = ["id": spec.name, "cluster": spec.name]
        if !spec.nodeMetadata.isEmpty { node["metadata"] = spec.nodeMetadata }
        return [
            "node": node,
            "admin": ["address": socketAddress("127.0.0.1", spec.adminPort)],
            "static_resources": ["listeners": listeners, "clusters": clusters],
            "stats_config": statsConfig,
        ]
    }

    static func check(_ spec: SidecarSpec) throws {
        guard spec.inbound != nil || !spec.outbound.isEmpty else {
            throw Problem(message: "a sidecar needs an inbound listener (--inbound, --app) or an outbound one (--outbound)")
        }
        if spec.tls == nil, let tcp = spec.outbound.first(where: { $0.protocolName == .tcp }) {
            throw Problem(
                message: "outbound tcp:\(tcp.port): the TCP metadata exchange is selected by ALPN \(peerExchangeALPN), which needs mTLS: "
                    + "give --tls-cert, --tls-key and --tls-ca")
        }
        var ports: Set<Int> = [spec.adminPort]
        for port in [spec.inbound?.port].compactMap({ $0 }) + spec.outbound.map(\.port) {
            guard ports.insert(port).inserted else { throw Problem(message: "port \(port) is used twice (the admin port is \(spec.adminPort))") }
        }
    }

    /// A cluster's `metadata` naming its services as Istio's control plane does.
    static func servicesMetadata(_ hosts: [String]) -> [String: Any] {
        ["filter_metadata": ["istio": ["services": hosts.map(serviceMetadata)]]]
    }

    /// Istio's service entry for a cluster: the host, its first label as the
    /// name and its second as the namespace (`reviews.default.svc...`).
    static func serviceMetadata(_ host: String) -> [String: Any] {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        var service: [String: Any] = ["host": host, "name": String(labels[0])]
        if labels.count > 1 { service["namespace"] = String(labels[1]) }
        return service
    }

    /// What an upstream sidecar connection offers: the peer-exchange ALPN for TCP,
    /// the HTTP version otherwise (so the inbound chain's codec matches).
    static func upstreamALPN(_ protocolName: SidecarSpec.OutboundProtocol) -> [String] {
        switch protocolName {
        case .tcp: return [peerExchangeALPN, "istio"]
        case .http: return ["http/1.1"]
        case .http2: return ["h2"]
        }
    }

    static func inboundListener(_ spec: SidecarSpec, port: Int, appCluster: String) -> [String: Any] {
        let httpFilters = [
            metadataExchange(spec, http: true), stats(spec, rootID: "stats_inbound", http: true),
        ]
        var httpChain: [String: Any] = [
            "name": "inbound_http",
            "filters": [connectionManager(statPrefix: "inbound_\(port)", cluster: appCluster, filters: httpFilters)],
        ]
        var listener: [String: Any] = [
            "name": "\(spec.name)_inbound_\(port)", "address": socketAddress(spec.listenAddress, port), "traffic_direction": "INBOUND",
        ]
        guard let tls = spec.tls else {
            listener["filter_chains"] = [httpChain]
            return listener
        }
        httpChain["filter_chain_match"] = ["transport_protocol": "tls"]
        httpChain["transport_socket"] = downstreamTLS(tls, alpn: ["h2", "http/1.1"])
        let tcpChain: [String: Any] = [
            "name": "inbound_tcp_peer_exchange",
            "filter_chain_match": ["transport_protocol": "tls", "application_protocols": [peerExchangeALPN]],
            "transport_socket": downstreamTLS(tls, alpn: [peerExchangeALPN, "istio"]),
            "filters": [
                metadataExchange(spec, http: false), stats(spec, rootID: "stats_inbound", http: false),
                tcpProxy(statPrefix: "inbound_\(port)", cluster: appCluster),
            ],
        ]
        listener["listener_filters"] = [
            [
                "name": "envoy.filters.listener.tls_inspector",
                "typed_config": ["@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"],
            ]
        ]
        listener["filter_chains"] = [tcpChain, httpChain]
        return listener
    }

    static func outboundListener(_ spec: SidecarSpec, _ outbound: SidecarSpec.Outbound, cluster: String) -> [String: Any] {
        let statPrefix = "outbound_\(outbound.port)_\(outbound.service)"
        let filters: [[String: Any]]
        switch outbound.protocolName {
        case .http, .http2:
            let httpFilters = [metadataExchange(spec, http: true), stats(spec, rootID: "stats_outbound", http: true)]
            filters = [connectionManager(statPrefix: statPrefix, cluster: cluster, filters: httpFilters)]
        case .tcp:
            filters = [
                stats(spec, rootID: "stats_outbound", http: false), metadataExchange(spec, http: false),
                tcpProxy(statPrefix: statPrefix, cluster: cluster),
            ]
        }
        return [
            "name": "\(spec.name)_outbound_\(outbound.port)", "address": socketAddress(spec.listenAddress, outbound.port),
            "traffic_direction": "OUTBOUND", "filter_chains": [["filters": filters]],
        ]
    }

    static func pluginConfig(name: String, rootID: String, vmID: String, module: String, configuration: String) -> [String: Any] {
        var config: [String: Any] = [
            "name": name, "root_id": rootID,
            "vm_config": [
                "vm_id": vmID, "runtime": "envoy.wasm.runtime.v8",
                "code": ["local": ["filename": (module as NSString).standardizingPath]],
            ],
        ]
        if !configuration.isEmpty {
            config["configuration"] = ["@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration]
        }
        return config
    }

    static func metadataExchange(_ spec: SidecarSpec, http: Bool) -> [String: Any] {
        let config = pluginConfig(
            name: http ? "istio.metadata_exchange" : "istio.metadata_exchange_tcp", rootID: "metadata_exchange",
            vmID: http ? "metadata_exchange" : "tcp_metadata_exchange",
            module: spec.moduleDirectory + "/metadata_exchange.wasm", configuration: spec.metadataExchangeConfiguration)
        return wasmFilter(config, http: http)
    }

    static func stats(_ spec: SidecarSpec, rootID: String, http: Bool) -> [String: Any] {
        let configuration = rootID == "stats_inbound" ? spec.inboundStatsConfiguration : spec.outboundStatsConfiguration
        let config = pluginConfig(
            name: http ? "istio.stats" : "istio.stats_tcp", rootID: rootID, vmID: http ? rootID : "tcp_\(rootID)",
            module: spec.moduleDirectory + "/stats.wasm", configuration: configuration)
        return wasmFilter(config, http: http)
    }

    static func wasmFilter(_ config: [String: Any], http: Bool) -> [String: Any] {
        [
            "name": http ? "envoy.filters.http.wasm" : "envoy.filters.network.wasm",
            "typed_config": ["@type": http ? wasmHTTPFilter : wasmNetworkFilter, "config": config],
        ]
    }

    static func connectionManager(statPrefix: String, cluster: String, filters: [[String: Any]]) -> [String: Any] {
        let router: [String: Any] = [
            "name": "envoy.filters.http.router",
            "typed_config": ["@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"],
        ]
        return [
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": [
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": statPrefix, "codec_type": "AUTO",
                "route_config": [
                    "name": statPrefix,
                    "virtual_hosts": [
                        ["name": "all", "domains": ["*"], "routes": [["match": ["prefix": "/"], "route": ["cluster": cluster]]]]
                    ],
                ],
                "http_filters": filters + [router],
            ],
        ]
    }

    static func tcpProxy(statPrefix: String, cluster: String) -> [String: Any] {
        [
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": [
                "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                "stat_prefix": statPrefix, "cluster": cluster,
            ],
        ]
    }

    static func cluster(name: String, address: SidecarSpec.Address) -> [String: Any] {
        [
            "name": name, "type": address.isIPAddress ? "STATIC" : "STRICT_DNS", "connect_timeout": "10s",
            "load_assignment": [
                "cluster_name": name,
                "endpoints": [["lb_endpoints": [["endpoint": ["address": socketAddress(address.host, address.port)]]]]],
            ],
        ]
    }

    static func socketAddress(_ host: String, _ port: Int) -> [String: Any] {
        ["socket_address": ["address": host, "port_value": port]]
    }

    static func commonTLS(_ tls: SidecarSpec.TLSFiles, alpn: [String]) -> [String: Any] {
        [
            "alpn_protocols": alpn,
            "tls_certificates": [
                ["certificate_chain": ["filename": tls.certificateChain], "private_key": ["filename": tls.privateKey]]
            ],
            "validation_context": ["trusted_ca": ["filename": tls.trustedCA]],
        ]
    }

    /// An inbound chain's TLS: mutual, the peer sidecar must present its certificate.
    static func downstreamTLS(_ tls: SidecarSpec.TLSFiles, alpn: [String]) -> [String: Any] {
        transportSocket("DownstreamTlsContext", common: commonTLS(tls, alpn: alpn), extra: ["require_client_certificate": true])
    }

    static func transportSocket(_ context: String, common: [String: Any], extra: [String: Any] = [:]) -> [String: Any] {
        var typed: [String: Any] = [
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.\(context)", "common_tls_context": common,
        ]
        typed.merge(extra) { _, new in new }
        return ["name": "envoy.transport_sockets.tls", "typed_config": typed]
    }
}
