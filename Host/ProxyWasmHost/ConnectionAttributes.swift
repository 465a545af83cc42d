/// The connection attributes Envoy gives every stream and connection, which a
/// scenario need not set: plaintext loopback addresses, Envoy's connection id,
/// `connection.mtls` false, no SNI. Values a scenario sets win, key by key.
///
/// Measured in Envoy 1.40 for a plaintext HTTP/1.1 request (status and size of
/// each attribute, `test_default_attributes.py`): the addresses are
/// `127.0.0.1:<5-digit port>`, ports and the id 8-byte integers, `mtls` one
/// byte, `requested_server_name` and `upstream.transport_failure_reason`
/// empty; the TLS facts (`tls_version`, `uri_san_*`) and
/// `connection.termination_details` are absent.
public enum ConnectionAttributes {
    /// The listener every downstream connection arrives on.
    public static let listenerAddress = "127.0.0.1:10000"
    public static let listenerPort: Int64 = 10000
    /// The upstream host every upstream connection goes to.
    public static let upstreamAddress = "127.0.0.1:18080"
    public static let upstreamPort: Int64 = 18080

    /// `source.*`, `destination.*` and `connection.*` for downstream connection `id`.
    public static func downstream(id: UInt64) -> [PropertyEntry] {
        let port = 50000 + Int64(id % 10000)
        return [
            PropertyEntry("source", .map([PropertyEntry("address", .string("127.0.0.1:\(port)")), PropertyEntry("port", .int(port))])),
            PropertyEntry(
                "destination",
                .map([
                    PropertyEntry("address", .string(listenerAddress)),
                    PropertyEntry("port", .int(listenerPort)),
                ])),
            PropertyEntry(
                "connection",
                .map([
                    PropertyEntry("id", .int(Int64(bitPattern: id))), PropertyEntry("mtls", .bool(false)),
                    PropertyEntry("requested_server_name", .string("")),
                ])),
        ]
    }

    /// `upstream.*` once the upstream connection of downstream connection `id` exists.
    public static func upstream(id: UInt64) -> [PropertyEntry] {
        let localPort = 40000 + Int64(id % 10000)
        return [
            PropertyEntry(
                "upstream",
                .map([
                    PropertyEntry("address", .string(upstreamAddress)), PropertyEntry("port", .int(upstreamPort)),
                    PropertyEntry("local_address", .string("127.0.0.1:\(localPort)")),
                    PropertyEntry("transport_failure_reason", .string("")),
                ]))
        ]
    }

    /// `defaults` under `properties`: what the scenario set wins.
    static func apply(_ defaults: [PropertyEntry], under properties: [PropertyEntry]) -> [PropertyEntry] {
        PropertyNode.map(defaults).merged(with: .map(properties)).entries
    }
}
