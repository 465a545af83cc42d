import ProxyWasm
import TelemetryCore

/// Istio's HTTP metadata exchange for one stream (istio/proxy 1.12
/// `extensions/metadata_exchange/plugin.cc`):
/// - request: strip and store the downstream peer's headers; add ours unless inbound;
/// - response: strip and store the upstream peer's headers; add ours unless
///   outbound, and only the headers the request carried.
final class HttpExchange: HttpContext {
    let root: ExchangeRoot
    private var direction = TrafficDirection.unspecified
    private var requestCarriedID = false
    private var requestCarriedMetadata = false

    init(id: UInt32, root: ExchangeRoot) {
        self.root = root
        super.init(id: id, rootID: root.id)
    }

    /// Takes a peer header out of `map`: its value if present and non-empty.
    private func take(_ map: HeaderMap, _ name: [UInt8]) -> [UInt8]? {
        guard let value = map.valueBytes(name: name), !value.isEmpty else { return nil }
        try? map.remove(name: name)
        return value
    }

    override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        let headers = HeaderMap.requestHeaders
        var peerID: [UInt8] = []
        if let id = take(headers, Exchange.idHeader) {
            requestCarriedID = true
            peerID = id
            try? Properties.set(Exchange.downstreamPeerID, id)
        }
        if let metadata = take(headers, Exchange.metadataHeader) {
            requestCarriedMetadata = true
            root.storePeer(Exchange.downstreamPeer, id: peerID, headerValue: metadata)
        }
        direction = root.direction()
        if direction != .inbound && !(root.configuration.skipExternalClusters && root.upstreamIsExternal()) {
            if !root.headerValue.isEmpty { try? headers.replace(name: Exchange.metadataHeader, value: root.headerValue) }
            if !root.nodeIDBytes.isEmpty { try? headers.replace(name: Exchange.idHeader, value: root.nodeIDBytes) }
        }
        return .continue
    }

    override func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        let headers = HeaderMap.responseHeaders
        var peerID: [UInt8] = []
        if let id = take(headers, Exchange.idHeader) {
            peerID = id
            try? Properties.set(Exchange.upstreamPeerID, id)
        }
        if let metadata = take(headers, Exchange.metadataHeader) {
            root.storePeer(Exchange.upstreamPeer, id: peerID, headerValue: metadata)
        }
        if direction != .outbound {
            if requestCarriedMetadata && !root.headerValue.isEmpty {
                try? headers.replace(name: Exchange.metadataHeader, value: root.headerValue)
            }
            if requestCarriedID && !root.nodeIDBytes.isEmpty { try? headers.replace(name: Exchange.idHeader, value: root.nodeIDBytes) }
        }
        return .continue
    }
}
