import ProxyWasmABI
import TelemetryCore

/// A local reply a plugin sent with `proxy_send_local_response`.
public struct LocalResponse: Equatable, Sendable {
    public let statusCode: UInt32
    public let details: String
    public let body: [UInt8]
    public let headers: [HeaderPair]
    public let grpcStatus: UInt32?
}
