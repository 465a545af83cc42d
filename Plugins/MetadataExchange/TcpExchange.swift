import ProxyWasm
import TelemetryCore

/// The `istio-peer-exchange` prefix protocol on one connection.
///
/// Wasm cannot see the negotiated ALPN, so this filter belongs on filter
/// chains selected by ALPN `istio-peer-exchange` (Envoy
/// `filter_chain_match.application_protocols`). The listener direction gives
/// the role:
/// - outbound (client sidecar): our prefix goes before the first bytes sent
///   upstream, but only towards a peer that can take part: an mTLS upstream
///   whose certificate carries a SPIFFE id (`upstream.uri_san_peer_certificate`
///   `spiffe://...`), or any upstream with `allow_plaintext_tcp`. The server's
///   prefix is read from the first bytes coming back, only if ours was sent;
/// - inbound (server sidecar): the client's prefix is read from the first
///   downstream bytes (on mTLS connections, or any with `allow_plaintext_tcp`);
///   ours goes before the first bytes sent back only once the client's prefix
///   was read. A server that speaks first, or a client that sent no prefix,
///   gets nothing from us.
/// So a peer that did not negotiate the exchange never receives metadata,
/// and no byte is added to or removed from a non-mesh peer's stream.
///
/// Reading keeps the connection's bytes intact: an incomplete prefix is held
/// (StopIteration) until complete; anything that is not a prefix is passed on
/// untouched and the peer is recorded as unknown. End of stream while waiting
/// gives up the same way.
final class TcpExchange: TcpContext {
    enum Role { case client, server, none }
    enum ReadState { case waiting, done }

    let root: ExchangeRoot
    private var role = Role.none
    private var readState = ReadState.waiting
    private var wrote = false
    private var checkedSecurity = false

    init(id: UInt32, root: ExchangeRoot) {
        self.root = root
        super.init(id: id, rootID: root.id)
    }

    private var peerKey: PropertyName { role == .client ? Exchange.upstreamPeer : Exchange.downstreamPeer }
    private var peerIDKey: PropertyName { role == .client ? Exchange.upstreamPeerID : Exchange.downstreamPeerID }

    override func onNewConnection() -> FilterStatus {
        switch root.direction() {
        case .outbound: role = .client
        case .inbound: role = .server
        case .unspecified:
            role = .none
            root.noteOnce(.unknownDirection, "connection \(id): unknown listener direction, no metadata exchange")
        }
        if role != .none { try? root.alpnProtocolFound?.increment() }
        return .continue
    }

    override func onDownstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus {
        switch role {
        case .client:
            if !checkedSecurity {
                checkedSecurity = true
                // tcp_proxy reads downstream bytes only once the upstream is
                // connected, so its TLS facts are known on the first data.
                if !upstreamTakesPart() {
                    giveUp(
                        "connection \(id): the upstream is not an mTLS peer with a SPIFFE id (set allow_plaintext_tcp to exchange anyway)",
                        kind: .notAMeshUpstream)
                    role = .none
                    return .continue
                }
            }
            return write(Buffer.downstreamData)
        case .server:
            if !checkedSecurity {
                checkedSecurity = true
                // Peer identity is only known after the TLS handshake: check on the first data.
                let mtls = (try? Properties.bool(["connection", "mtls"])) ?? nil
                if mtls != true && !root.configuration.allowPlaintextTCP {
                    giveUp("connection \(id) is not mTLS (set allow_plaintext_tcp to exchange anyway)", kind: .plaintext)
                    role = .none
                    return .continue
                }
            }
            return read(Buffer.downstreamData, size: dataSize, endOfStream: endOfStream)
        case .none: return .continue
        }
    }

    override func onUpstreamData(dataSize: Int, endOfStream: Bool) -> FilterStatus {
        switch role {
        case .client:
            // Nothing of ours went out: whatever comes back is the server's own.
            if !wrote {
                giveUp("connection \(id): the upstream spoke first, no metadata exchange", kind: .serverSpokeFirst)
                role = .none
                return .continue
            }
            return read(Buffer.upstreamData, size: dataSize, endOfStream: endOfStream)
        case .server: return write(Buffer.upstreamData)
        case .none: return .continue
        }
    }

    /// Puts our prefix before the first bytes in this direction (one write: a
    /// peer never sees part of it). A server writes only after it read the
    /// client's prefix; nobody writes to a peer that turned out not to speak
    /// the protocol.
    private func write(_ buffer: Buffer) -> FilterStatus {
        if wrote { return .continue }
        wrote = true
        if readState == .done && peerFailed { return .continue }
        if role == .server && readState != .done { return .continue }
        do throws(HostError) {
            try buffer.prepend(root.tcpPrefix)
            try? root.metadataAdded?.increment()
        } catch {
            root.noteOnce(.writePrefix, "connection \(id): cannot write the exchange prefix: \(error.status.name)")
        }
        return .continue
    }

    private var peerFailed = false

    private func read(_ buffer: Buffer, size: Int, endOfStream: Bool) -> FilterStatus {
        if readState == .done { return .continue }
        let bytes: [UInt8]
        do throws(HostError) { bytes = try buffer.bytes(start: 0, maxSize: size) } catch {
            giveUp("connection \(id): cannot read data: \(error.status.name)", kind: .readData)
            return .continue
        }
        switch TCPPrefix.frame(bytes) {
        case .needMore:
            try? root.initialHeaderNotFound?.increment()
            if endOfStream {
                giveUp("connection \(id): closed before the peer's metadata arrived", kind: .earlyClose)
                return .continue
            }
            return .stopIteration
        case let .invalid(rejection):
            reject(rejection)
            return .continue
        case let .complete(range, consumed):
            // A peer's connections carry the same payload: decode it once per peer.
            let payload = Array(bytes[range])
            let node: [UInt8]
            let peerID: [UInt8]
            // (Keyed by the whole payload with no metadata: an HTTP entry, keyed
            // by a peer id and checked against a non-empty header, never matches.)
            if let known = root.cache.lookupPeer(id: payload, metadata: []) {
                (node, peerID) = known
            } else {
                switch TCPPrefix.decode(payload: payload) {
                case let .complete(decoded, decodedID, _):
                    node = FlatNodeCodec.encode(PeerNode.fromStruct(decoded ?? ProtoStruct()))
                    peerID = decodedID.map { Array($0.utf8) } ?? Exchange.unknownPeer
                    root.cache.insert(id: payload, metadata: [], node: node, peerID: peerID)
                case let .invalid(rejection):
                    reject(rejection)
                    return .continue
                case .needMore:
                    return .continue
                }
            }
            do throws(HostError) { try buffer.drainPrefix(consumed) } catch {
                giveUp("connection \(id): cannot remove the prefix: \(error.status.name)", kind: .drainPrefix)
                return .continue
            }
            readState = .done
            try? Properties.set(peerKey, node)
            try? Properties.set(peerIDKey, peerID)
            return .continue
        }
    }

    /// The first bytes are not a prefix: counted, logged once, left untouched.
    private func reject(_ rejection: TCPPrefix.Rejection) {
        if rejection == .magicMismatch { try? root.initialHeaderNotFound?.increment() } else { try? root.headerNotFound?.increment() }
        giveUp("connection \(id): no peer metadata prefix: \(rejection.reason)", kind: ExchangeProblem(rejection))
    }

    /// Whether the upstream of an outbound connection can take part in the exchange.
    private func upstreamTakesPart() -> Bool {
        if root.configuration.allowPlaintextTCP { return true }
        guard let san = (try? Properties.bytes(["upstream", "uri_san_peer_certificate"])) ?? nil else { return false }
        return san.starts(with: Exchange.spiffePrefix)
    }

    /// Records the peer as unknown and stops trying; bytes stay untouched.
    private func giveUp(_ message: String, kind: ExchangeProblem) {
        readState = .done
        peerFailed = true
        root.noteOnce(kind, message)
        try? Properties.set(peerIDKey, Exchange.unknownPeer)
    }
}
