/// What metadata_exchange and stats agree on, in one place: the headers a
/// peer's metadata travels in, the filter-state entries the exchange leaves
/// for stats (and for Envoy's CEL), and the ALPN that selects the TCP
/// exchange. Both plugins and the host's config generator read these names
/// from here, so they cannot drift apart. They are inlinable so that each
/// module compiles them as literals instead of calling another module's
/// lazily initialised globals.
public enum PeerExchange {
    /// The HTTP header carrying the peer's node metadata (base64 of a
    /// `google.protobuf.Struct`), and its key inside the TCP prefix's Struct.
    @inlinable public static var metadataHeader: String { "x-envoy-peer-metadata" }
    /// The HTTP header carrying the peer's node id, and its key inside the TCP prefix.
    @inlinable public static var idHeader: String { "x-envoy-peer-metadata-id" }

    /// Filter state (`wasm.<name>`) the exchange sets: the downstream and the
    /// upstream peer, each as a FlatNode (declared as FlatBuffers of the
    /// FlatNode schema) and as its node id.
    @inlinable public static var downstreamPeer: String { "downstream_peer" }
    @inlinable public static var downstreamPeerID: String { "downstream_peer_id" }
    @inlinable public static var upstreamPeer: String { "upstream_peer" }
    @inlinable public static var upstreamPeerID: String { "upstream_peer_id" }

    /// The ALPN an upstream sidecar connection offers, and the inbound TCP
    /// chain matches, when the TCP prefix follows.
    @inlinable public static var alpn: String { "istio-peer-exchange" }
}
