import ProxyWasmTools
import Testing

/// The pieces of `envoy-config sidecar` that read what a user types; the
/// whole bootstrap is checked by Envoy itself in `test_envoy_sidecar_config.py`.
@Suite struct EnvoySidecarConfigTests {
    @Test func addressesReadNamesIPv4AndBracketedIPv6() {
        #expect(SidecarSpec.Address(parsing: "10.0.0.5:15006") == SidecarSpec.Address(host: "10.0.0.5", port: 15006))
        #expect(SidecarSpec.Address(parsing: "[::1]:80") == SidecarSpec.Address(host: "::1", port: 80))
        #expect(SidecarSpec.Address(parsing: "reviews:9080") == SidecarSpec.Address(host: "reviews", port: 9080))
        for bad in ["reviews", "reviews:", ":80", "host:0", "host:65536", "host:-1", "[::1]80", "[::1:80", "host:99999999999999999999"] {
            #expect(SidecarSpec.Address(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func anOutboundReadsProtocolPortServiceAndUpstream() throws {
        let outbound = try SidecarSpec.Outbound(parsing: "http2:9083=grpc.default.svc.cluster.local@[fd00::5]:15006")
        #expect(
            outbound
                == SidecarSpec.Outbound(
                    protocolName: .http2, port: 9083, service: "grpc.default.svc.cluster.local",
                    upstream: SidecarSpec.Address(host: "fd00::5", port: 15006)))
        for bad in [
            "tcp9000=db@h:1", "tcp:9000db@h:1", "tcp:9000=db", "udp:9000=db@h:1", "tcp:0=db@h:1", "tcp:9000=@h:1",
            "tcp:9000=d\u{e9}@h:1", "tcp:9000=db@h",
        ] {
            #expect(throws: EnvoySidecarConfig.Problem.self, "\(bad)") { try SidecarSpec.Outbound(parsing: bad) }
        }
    }

    @Test func theInboundSideNamesItsServicesAsIstioDoes() throws {
        let spec = SidecarSpec(
            name: "ratings", moduleDirectory: "/wasm", inbound: (9080, SidecarSpec.Address(host: "127.0.0.1", port: 8080)),
            inboundServices: ["ratings.bookinfo.svc.cluster.local"])
        let bootstrap = try EnvoySidecarConfig.bootstrap(spec, statsConfig: [:])
        let resources = try #require(bootstrap["static_resources"] as? [String: Any])
        let clusters = try #require(resources["clusters"] as? [[String: Any]])
        let metadata = try #require(clusters.first?["metadata"] as? [String: [String: [String: [[String: String]]]]])
        #expect(
            metadata["filter_metadata"]?["istio"]?["services"] == [
                ["host": "ratings.bookinfo.svc.cluster.local", "name": "ratings", "namespace": "bookinfo"]
            ])
    }

    @Test func aSidecarWithNothingToProxyOrTCPWithoutMTLSIsRefused() {
        #expect(throws: EnvoySidecarConfig.Problem.self) {
            try EnvoySidecarConfig.bootstrap(SidecarSpec(name: "s", moduleDirectory: "/wasm"), statsConfig: [:])
        }
        let tcp = SidecarSpec(
            name: "s", moduleDirectory: "/wasm",
            outbound: [.init(protocolName: .tcp, port: 9000, service: "db", upstream: .init(host: "10.0.0.1", port: 15006))])
        #expect(throws: EnvoySidecarConfig.Problem.self) { try EnvoySidecarConfig.bootstrap(tcp, statsConfig: [:]) }
    }
}
