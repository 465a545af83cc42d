import ProxyWasm
import TelemetryCore

/// Declares the peers metadata_exchange stores, `upstream_peer` and
/// `downstream_peer`, to Envoy as FlatBuffers of Istio's FlatNode schema
/// (Envoy's `declare_property` foreign function, as Istio's plugin does), so
/// Envoy's own CEL reads their fields: `filter_state['wasm.upstream_peer'].workload_name`
/// in an RBAC condition or an access log's `%CEL(...)%`, `labels['app'].value`, ...
/// Without the declaration Envoy keeps the values as opaque bytes.
///
/// The stored bytes are always the plugin's own encoding of a decoded peer
/// (`FlatNodeCodec.encode`), never a peer's raw bytes, so Envoy's reflection
/// over them reads a well-formed buffer.
enum PeerPropertyDeclaration {
    /// Envoy's `WasmType.FlatBuffers` and `LifeSpan.DownstreamRequest` (Istio's choice).
    static let flatBuffersType: UInt8 = 2
    static let downstreamRequestSpan: UInt8 = 1

    /// Declares both peers; a host without the function (or one that already
    /// has the declaration, after a reconfiguration) answers an error, which
    /// changes nothing for the plugin.
    static func declarePeers() {
        guard let schema = Base64.decode(Array(UTF8Text.string(FlatNodeSchema.base64).utf8)) else { return }
        for name in [PeerExchange.upstreamPeer, PeerExchange.downstreamPeer] {
            _ = try? StreamControl.callForeignFunction("declare_property", arguments: arguments(name: name, schema: schema))
        }
    }

    /// `DeclarePropertyArguments{name = 1, readonly = 2, type = 3, schema = 4, span = 5}`
    /// in protobuf wire format (readonly false, left out).
    static func arguments(name: String, schema: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        field(1, Array(name.utf8), into: &out)
        out.append(3 << 3)
        out.append(flatBuffersType)
        field(4, schema, into: &out)
        out.append(5 << 3)
        out.append(downstreamRequestSpan)
        return out
    }

    private static func field(_ number: UInt8, _ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(number << 3 | 2)
        var length = bytes.count
        repeat {
            let low = UInt8(length & 0x7F)
            length >>= 7
            out.append(length == 0 ? low : low | 0x80)
        } while length != 0
        out.append(contentsOf: bytes)
    }
}
