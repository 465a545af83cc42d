import Foundation
import ProxyWasmABI
import ProxyWasmHost
import ProxyWasmWasmKit
import TelemetryCore

/// metadata_exchange.wasm alone on a sidecar with Istio's node metadata
/// (`IstioTestdata.nodeMetadata`), traced, at debug log level.
public final class ExchangeSidecar {
    public let proxy: Proxy
    public let vm: PluginVM
    public let root: UInt32

    public init(
        id: String, metadataFile: String, direction: TrafficDirection, dialect: PropertyDialect = .current,
        configuration: String = ""
    ) throws {
        proxy = Sidecar.proxy(id, metadata: metadataFile, direction: direction, dialect: dialect)
        proxy.logLevel = .debug
        vm = try Sidecar.load("metadata_exchange", on: proxy, vmID: "mx", trace: TraceRecorder()).vm
        root = try vm.startPlugin(PluginConfiguration(name: "mx", configuration: Array(configuration.utf8)))
    }

    /// One completed stream with `request` headers (after `:path`) and a 200 carrying `response`.
    public func stream(_ request: [HeaderPair], response: [HeaderPair] = []) -> HttpStream {
        let stream = HttpStream(vm: vm, root: root)
        stream.sendRequestHeaders([HeaderPair(":path", "/")] + request)
        stream.sendResponseHeaders([HeaderPair(":status", "200")] + response)
        stream.complete()
        return stream
    }

    /// Neither failed nor called anything the host does not implement.
    public var noFailures: Bool { vm.failure == nil && vm.unimplementedCalls.isEmpty }

    /// The value of header `name` among `headers`.
    public static func header(_ headers: [HeaderPair], _ name: String) -> String? {
        headers.first { $0.keyString == name }?.valueString
    }

    /// The peer metadata_exchange stored on `stream` under `key` (`upstream_peer`, `downstream_peer`).
    public static func peer(_ stream: HttpStream, _ key: String) throws -> PeerNode? {
        guard let bytes = stream.context?.filterState["wasm." + key] else { return nil }
        return try FlatNodeCodec.decode(bytes)
    }

    /// One opened connection on each side: the client's towards an mTLS mesh
    /// upstream, the server's (`serverMTLS`) from its client.
    public static func openConnections(
        _ client: ExchangeSidecar, _ server: ExchangeSidecar, serverMTLS: Bool = true
    ) -> (client: TcpConnection, server: TcpConnection) {
        let clientConnection = TcpConnection(vm: client.vm, root: client.root, properties: meshUpstream)
        let serverConnection = TcpConnection(
            vm: server.vm, root: server.root,
            properties: [PropertyEntry("connection", .map([PropertyEntry("mtls", .bool(serverMTLS))]))])
        clientConnection.open()
        serverConnection.open()
        return (clientConnection, serverConnection)
    }

    /// An outbound connection's upstream as Envoy describes an mTLS mesh peer.
    public static let meshUpstream = [
        PropertyEntry(
            "upstream",
            .map([
                PropertyEntry("tls_version", .string("TLSv1.3")),
                PropertyEntry("uri_san_peer_certificate", .string("spiffe://cluster.local/ns/default/sa/server")),
            ]))
    ]
}
