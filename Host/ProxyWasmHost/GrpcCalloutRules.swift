import ProxyWasmABI

/// Envoy's rules for gRPC call-outs on plain values: where a call goes, how a
/// unary call ends, and the status messages Envoy's gRPC client composes. The
/// host calls in `CalloutCalls.swift` apply them to what the guest sent.
public enum GrpcCalloutRules {
    /// Where a gRPC call-out goes.
    public enum Upstream: Equatable, Sendable {
        case cluster(String)
        case unsupportedService
    }

    /// Envoy first reads the upstream as a serialized `GrpcService`
    /// (`envoy_grpc.cluster_name` = field 1.1); bytes that are not one are a cluster name.
    public static func upstream(_ bytes: [UInt8]) -> Upstream {
        guard let fields = ProtobufFields.parse(bytes) else { return .cluster(String(decoding: bytes, as: UTF8.self)) }
        guard let envoyGrpc = fields[1], let inner = ProtobufFields.parse(envoyGrpc), let name = inner[1] else {
            return .unsupportedService
        }
        return .cluster(String(decoding: name, as: UTF8.self))
    }

    /// A unary call ends with one message (success) or a non-OK close, as
    /// Envoy's async request does: metadata is not delivered, an OK close
    /// without a message is Internal, and a reply slower than the timeout
    /// meets the router's timeout, which reaches the plugin as Unavailable
    /// `upstream request timeout{response_timeout}` (measured against Envoy
    /// 1.40 in Tests/Envoy/test_grpc_callouts.py).
    public static func unaryOutcome(_ reply: GrpcCalloutReply, timeout: UInt32) -> GrpcCalloutReply {
        if timeout > 0 && reply.latencyMilliseconds > UInt64(timeout) {
            return .failure(
                status: GrpcStatus.unavailable.rawValue,
                message: statusMessage("upstream request timeout", details: "response_timeout"),
                latencyMilliseconds: UInt64(timeout))
        }
        for event in reply.events {
            switch event {
            case let .message(bytes): return .success(bytes, latencyMilliseconds: reply.latencyMilliseconds)
            case let .close(status, message) where status != 0:
                return .failure(status: status, message: message, latencyMilliseconds: reply.latencyMilliseconds)
            default: continue
            }
        }
        return .failure(status: GrpcStatus.internal.rawValue, latencyMilliseconds: reply.latencyMilliseconds)
    }

    /// The status message Envoy's gRPC client hands the plugin: the
    /// upstream's `grpc-message` followed by the HTTP stream's response-code
    /// details in braces (either alone when the other is empty).
    public static func statusMessage(_ message: String, details: String) -> String {
        message.isEmpty ? details : details.isEmpty ? message : "\(message){\(details)}"
    }

    /// A responder's answer as it reaches the plugin: every close the
    /// upstream sent carries the details `via_upstream`.
    public static func viaUpstream(_ reply: GrpcCalloutReply) -> GrpcCalloutReply {
        var reply = reply
        reply.events = reply.events.map { event in
            guard case let .close(status, message) = event else { return event }
            return .close(status: status, message: statusMessage(message, details: "via_upstream"))
        }
        return reply
    }
}
