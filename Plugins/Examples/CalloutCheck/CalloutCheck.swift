// CalloutCheck: an example external-authorization filter built on the SDK's
// call-outs. Each request is held while an upstream decides:
//
// - "http": GET <path_prefix><request path> to the cluster; 200 lets the
//   request through, a 5xx or a failed call-out answers 503, any other
//   status 403;
// - "grpc": one call of `service/method` with the request path as the
//   message; a reply lets it through, a failure answers 403 with the gRPC
//   status and message;
// - "grpc_stream": the same over a stream (open, send with end of stream;
//   the server's close decides: OK lets it through), which exercises the
//   stream API.
//
// Configuration, all fields optional:
//   {"mode": "http", "cluster": "authz", "timeout_ms": 500,
//    "path_prefix": "/check", "service": "pkg.Authz", "method": "Check"}

import PluginJSON
import ProxyWasm

/// How the filter asks its upstream.
public enum CalloutMode: String, Equatable {
    case http
    case grpc
    case grpcStream = "grpc_stream"
}

/// The validated plugin configuration.
public struct CalloutCheckConfiguration: Equatable {
    public var mode = CalloutMode.http
    public var cluster = "authz"
    public var timeoutMilliseconds: UInt32 = 500
    public var pathPrefix = "/check"
    public var service = "pkg.Authz"
    public var method = "Check"

    public init() {}

    /// Parses the plugin configuration; an empty buffer means all defaults.
    public static func parse(_ bytes: [UInt8]) throws(CalloutConfigurationError) -> CalloutCheckConfiguration {
        var configuration = CalloutCheckConfiguration()
        if bytes.isEmpty { return configuration }
        let document: JSONValue
        do throws(JSONError) {
            document = try JSONParser.parse(bytes)
        } catch {
            throw CalloutConfigurationError(error.message)
        }
        guard case let .object(members) = document else {
            throw CalloutConfigurationError("expected a JSON object, found \(document.typeName)")
        }
        for member in members {
            switch member.key {
            case "mode":
                let text = try string(member.value, "mode")
                guard let mode = CalloutMode(rawValue: text) else {
                    throw CalloutConfigurationError("field \"mode\" must be http, grpc or grpc_stream, got \"\(text)\"")
                }
                configuration.mode = mode
            case "cluster": configuration.cluster = try nonEmpty(member.value, "cluster")
            case "path_prefix": configuration.pathPrefix = try string(member.value, "path_prefix")
            case "service": configuration.service = try nonEmpty(member.value, "service")
            case "method": configuration.method = try nonEmpty(member.value, "method")
            case "timeout_ms":
                guard case let .number(text) = member.value, let milliseconds = UInt32(text), milliseconds >= 1,
                    milliseconds <= 60_000
                else {
                    throw CalloutConfigurationError("field \"timeout_ms\" must be a whole number of milliseconds from 1 to 60000")
                }
                configuration.timeoutMilliseconds = milliseconds
            default:
                throw CalloutConfigurationError(
                    "unknown field \"\(member.key)\" (known: mode, cluster, timeout_ms, path_prefix, service, method)")
            }
        }
        return configuration
    }

    private static func string(_ value: JSONValue, _ field: String) throws(CalloutConfigurationError) -> String {
        guard case let .string(text) = value else {
            throw CalloutConfigurationError("field \"\(field)\" must be a string, found \(value.typeName)")
        }
        return text
    }

    private static func nonEmpty(_ value: JSONValue, _ field: String) throws(CalloutConfigurationError) -> String {
        let text = try string(value, field)
        if text.isEmpty { throw CalloutConfigurationError("field \"\(field)\" must not be empty") }
        return text
    }
}

/// A configuration problem, worded for the log line.
public struct CalloutConfigurationError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Names of the metrics this plugin defines.
public enum CalloutCheckMetrics {
    public static let allowed = "callout_check_allowed_total"
    public static let denied = "callout_check_denied_total"
    public static let failed = "callout_check_failed_total"
}

/// One instance per plugin configuration.
public final class CalloutCheckRoot: RootContext {
    public private(set) var configuration = CalloutCheckConfiguration()
    var allowed: Metric?
    var denied: Metric?
    var failed: Metric?
    private let metrics = MetricCache()

    public override func onConfigure(pluginConfigurationSize: Int) -> Bool {
        do throws(HostError) {
            let bytes = pluginConfigurationSize == 0 ? [] : try pluginConfiguration()
            do throws(CalloutConfigurationError) {
                configuration = try CalloutCheckConfiguration.parse(bytes)
            } catch {
                Log.error("callout_check: invalid configuration: \(error.message)")
                return false
            }
            allowed = try metrics.metric(.counter, CalloutCheckMetrics.allowed)
            denied = try metrics.metric(.counter, CalloutCheckMetrics.denied)
            failed = try metrics.metric(.counter, CalloutCheckMetrics.failed)
        } catch {
            Log.error("callout_check: cannot configure: \(error.status.name)")
            return false
        }
        return true
    }

    public override func createHttpContext(id: UInt32) -> HttpContext? { CalloutCheckStream(id: id, root: self) }
}

/// One HTTP stream, held until its check answers.
final class CalloutCheckStream: HttpContext {
    let root: CalloutCheckRoot

    init(id: UInt32, root: CalloutCheckRoot) {
        self.root = root
        super.init(id: id, rootID: root.id)
    }

    override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        let configuration = root.configuration
        let path = (try? HeaderMap.requestHeaders.valueBytes(":path")) ?? nil
        do throws(HostError) {
            switch configuration.mode {
            case .http:
                var target = Array(configuration.pathPrefix.utf8)
                target += path ?? []
                try dispatchHttpCall(
                    cluster: configuration.cluster,
                    headers: [
                        HeaderPair(key: Array(":method".utf8), value: Array("GET".utf8)),
                        HeaderPair(key: Array(":path".utf8), value: target),
                        HeaderPair(key: Array(":authority".utf8), value: Array(configuration.cluster.utf8)),
                    ],
                    timeoutMilliseconds: configuration.timeoutMilliseconds
                ) { [self] response in
                    answerHttp(response)
                }
            case .grpc:
                try dispatchGrpcCall(
                    service: .cluster(configuration.cluster), serviceName: configuration.service,
                    method: configuration.method, message: path ?? [],
                    timeoutMilliseconds: configuration.timeoutMilliseconds,
                    handlers: GrpcHandlers(
                        onMessage: { [self] _ in answerGrpc(GrpcCallStatus(code: 0)) },
                        onClose: { [self] status in answerGrpc(status) }))
            case .grpcStream:
                let stream = try openGrpcStream(
                    service: .cluster(configuration.cluster), serviceName: configuration.service,
                    method: configuration.method,
                    handlers: GrpcHandlers(onClose: { [self] status in answerGrpc(status) }))
                try stream.send(path ?? [], endOfStream: true)
            }
        } catch {
            // The call-out could not even start (unknown cluster, refused): fail closed.
            try? root.failed?.increment()
            try? StreamControl.sendLocalResponse(status: 503, details: "callout_check_unavailable")
            return .stopIteration
        }
        return .stopIteration
    }

    func answerHttp(_ response: HttpCalloutResponse) {
        // No answer, or the upstream (or Envoy's router on its behalf: a connection failure is a
        // 503 response) could not decide: fail closed as unavailable.
        guard let status = response.status, status < 500 else {
            try? root.failed?.increment()
            try? StreamControl.sendLocalResponse(status: 503, details: "callout_check_unavailable")
            return
        }
        if status == 200 {
            try? root.allowed?.increment()
            try? StreamControl.resume(.httpRequest)
        } else {
            try? root.denied?.increment()
            try? StreamControl.sendLocalResponse(
                status: 403, details: "callout_check_denied",
                body: Array("denied by \(root.configuration.cluster): \(status)".utf8))
        }
    }

    func answerGrpc(_ status: GrpcCallStatus) {
        if status.isOK {
            try? root.allowed?.increment()
            try? StreamControl.resume(.httpRequest)
            return
        }
        try? root.denied?.increment()
        try? StreamControl.sendLocalResponse(
            status: 403, details: "callout_check_denied",
            body: Array("denied: grpc status \(status.code): \(status.message)".utf8))
    }
}

/// Registers the plugin's root context factory.
public enum CalloutCheckPlugin {
    public static func register() {
        ProxyWasm.setRootContextFactory { CalloutCheckRoot(id: $0) }
    }
}

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() { CalloutCheckPlugin.register() }
#endif
