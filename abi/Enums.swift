// Every enum of proxy-wasm ABI 0.2.1 with the numeric values Envoy and
// proxy-wasm-cpp-host use on the wire. Compiled into both the Embedded-Swift
// plugins and the Linux host, so both sides agree by construction.
//
// Each enum has a `name` property because Embedded Swift cannot print enum
// values through reflection (interpolating one prints a placeholder).

/// Status returned by every host function (`proxy_status_t` / `WasmResult`).
public enum WasmResult: UInt32, Sendable, CaseIterable {
    case ok = 0
    case notFound = 1
    case badArgument = 2
    case serializationFailure = 3
    case parseFailure = 4
    case badExpression = 5
    case invalidMemoryAccess = 6
    case empty = 7
    case casMismatch = 8
    case resultMismatch = 9
    case internalFailure = 10
    case brokenConnection = 11
    case unimplemented = 12

    /// The spelling used by proxy-wasm-cpp-host (`WasmResult::...`).
    public var name: String {
        switch self {
        case .ok: return "Ok"
        case .notFound: return "NotFound"
        case .badArgument: return "BadArgument"
        case .serializationFailure: return "SerializationFailure"
        case .parseFailure: return "ParseFailure"
        case .badExpression: return "BadExpression"
        case .invalidMemoryAccess: return "InvalidMemoryAccess"
        case .empty: return "Empty"
        case .casMismatch: return "CasMismatch"
        case .resultMismatch: return "ResultMismatch"
        case .internalFailure: return "InternalFailure"
        case .brokenConnection: return "BrokenConnection"
        case .unimplemented: return "Unimplemented"
        }
    }
}

/// Log levels of `proxy_log` / `proxy_get_log_level` (0 trace ... 5 critical).
public enum LogLevel: UInt32, Sendable, CaseIterable, Comparable {
    case trace = 0
    case debug = 1
    case info = 2
    case warn = 3
    case error = 4
    case critical = 5

    public var name: String {
        switch self {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .warn: return "warn"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Header maps addressed by the `proxy_*_header_map_*` calls (`proxy_map_type_t`).
public enum HeaderMapType: UInt32, Sendable, CaseIterable {
    case httpRequestHeaders = 0
    case httpRequestTrailers = 1
    case httpResponseHeaders = 2
    case httpResponseTrailers = 3
    case grpcCallInitialMetadata = 4
    case grpcCallTrailingMetadata = 5
    case httpCallResponseHeaders = 6
    case httpCallResponseTrailers = 7

    public var name: String {
        switch self {
        case .httpRequestHeaders: return "HttpRequestHeaders"
        case .httpRequestTrailers: return "HttpRequestTrailers"
        case .httpResponseHeaders: return "HttpResponseHeaders"
        case .httpResponseTrailers: return "HttpResponseTrailers"
        case .grpcCallInitialMetadata: return "GrpcCallInitialMetadata"
        case .grpcCallTrailingMetadata: return "GrpcCallTrailingMetadata"
        case .httpCallResponseHeaders: return "HttpCallResponseHeaders"
        case .httpCallResponseTrailers: return "HttpCallResponseTrailers"
        }
    }
}

/// Buffers addressed by `proxy_get_buffer_bytes` & co. (`WasmBufferType`).
public enum BufferType: UInt32, Sendable, CaseIterable {
    case httpRequestBody = 0
    case httpResponseBody = 1
    case downstreamData = 2
    case upstreamData = 3
    case httpCallResponseBody = 4
    case grpcReceiveBuffer = 5
    case vmConfiguration = 6
    case pluginConfiguration = 7
    case foreignFunctionArguments = 8

    public var name: String {
        switch self {
        case .httpRequestBody: return "HttpRequestBody"
        case .httpResponseBody: return "HttpResponseBody"
        case .downstreamData: return "DownstreamData"
        case .upstreamData: return "UpstreamData"
        case .httpCallResponseBody: return "HttpCallResponseBody"
        case .grpcReceiveBuffer: return "GrpcReceiveBuffer"
        case .vmConfiguration: return "VmConfiguration"
        case .pluginConfiguration: return "PluginConfiguration"
        case .foreignFunctionArguments: return "ForeignFunctionArguments"
        }
    }
}

/// Flags written by `proxy_get_buffer_status` (Envoy never sets any).
public struct BufferFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let endOfStream = BufferFlags(rawValue: 1)
}

/// Metric kinds of `proxy_define_metric`.
public enum MetricType: UInt32, Sendable, CaseIterable {
    case counter = 0
    case gauge = 1
    case histogram = 2

    public var name: String {
        switch self {
        case .counter: return "Counter"
        case .gauge: return "Gauge"
        case .histogram: return "Histogram"
        }
    }
}

/// Who closed a connection (`proxy_on_*_connection_close`'s `peer_type`).
/// Envoy passes 1/2 for downstream closes and always 0 for upstream closes.
public enum PeerType: UInt32, Sendable, CaseIterable {
    case unknown = 0
    case local = 1
    case remote = 2

    public var name: String {
        switch self {
        case .unknown: return "Unknown"
        case .local: return "Local"
        case .remote: return "Remote"
        }
    }
}

/// The spec calls the same values `CloseType` in some places.
public typealias CloseType = PeerType

/// Streams addressed by `proxy_continue_stream` / `proxy_close_stream`.
public enum StreamType: UInt32, Sendable, CaseIterable {
    case httpRequest = 0
    case httpResponse = 1
    case downstream = 2
    case upstream = 3

    public var name: String {
        switch self {
        case .httpRequest: return "HttpRequest"
        case .httpResponse: return "HttpResponse"
        case .downstream: return "Downstream"
        case .upstream: return "Upstream"
        }
    }
}

/// What a network-filter callback returns.
public enum FilterStatus: UInt32, Sendable, CaseIterable {
    case `continue` = 0
    case stopIteration = 1

    public var name: String { self == .continue ? "Continue" : "StopIteration" }
}

/// What `proxy_on_request_headers` / `proxy_on_response_headers` return.
public enum FilterHeadersStatus: UInt32, Sendable, CaseIterable {
    case `continue` = 0
    case stopIteration = 1
    case continueAndEndStream = 2
    case stopAllIterationAndBuffer = 3
    case stopAllIterationAndWatermark = 4

    public var name: String {
        switch self {
        case .continue: return "Continue"
        case .stopIteration: return "StopIteration"
        case .continueAndEndStream: return "ContinueAndEndStream"
        case .stopAllIterationAndBuffer: return "StopAllIterationAndBuffer"
        case .stopAllIterationAndWatermark: return "StopAllIterationAndWatermark"
        }
    }
}

/// What the body callbacks return.
public enum FilterDataStatus: UInt32, Sendable, CaseIterable {
    case `continue` = 0
    case stopIterationAndBuffer = 1
    case stopIterationAndWatermark = 2
    case stopIterationNoBuffer = 3

    public var name: String {
        switch self {
        case .continue: return "Continue"
        case .stopIterationAndBuffer: return "StopIterationAndBuffer"
        case .stopIterationAndWatermark: return "StopIterationAndWatermark"
        case .stopIterationNoBuffer: return "StopIterationNoBuffer"
        }
    }
}

/// What the trailers callbacks return.
public enum FilterTrailersStatus: UInt32, Sendable, CaseIterable {
    case `continue` = 0
    case stopIteration = 1

    public var name: String { self == .continue ? "Continue" : "StopIteration" }
}

/// What the metadata callbacks return (Envoy ignores it: always Continue).
public enum FilterMetadataStatus: UInt32, Sendable, CaseIterable {
    case `continue` = 0

    public var name: String { "Continue" }
}

/// gRPC status codes, as passed to `proxy_send_local_response` and
/// `proxy_on_grpc_close`. SDKs pass `0xFFFFFFFF` (C++ `InvalidCode = -1`) for
/// "no grpc-status"; that value is `GrpcStatus.noStatus`.
public enum GrpcStatus: UInt32, Sendable, CaseIterable {
    case ok = 0
    case canceled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case `internal` = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16
    case noStatus = 0xFFFF_FFFF

    public var name: String {
        switch self {
        case .ok: return "Ok"
        case .canceled: return "Canceled"
        case .unknown: return "Unknown"
        case .invalidArgument: return "InvalidArgument"
        case .deadlineExceeded: return "DeadlineExceeded"
        case .notFound: return "NotFound"
        case .alreadyExists: return "AlreadyExists"
        case .permissionDenied: return "PermissionDenied"
        case .resourceExhausted: return "ResourceExhausted"
        case .failedPrecondition: return "FailedPrecondition"
        case .aborted: return "Aborted"
        case .outOfRange: return "OutOfRange"
        case .unimplemented: return "Unimplemented"
        case .internal: return "Internal"
        case .unavailable: return "Unavailable"
        case .dataLoss: return "DataLoss"
        case .unauthenticated: return "Unauthenticated"
        case .noStatus: return "NoStatus"
        }
    }
}

/// The spec's `proxy_action_t`, used by SDKs as the simple return of callbacks.
public enum Action: UInt32, Sendable, CaseIterable {
    case `continue` = 0
    case pause = 1

    public var name: String { self == .continue ? "Continue" : "Pause" }
}

/// Why a host considers a VM failed (proxy-wasm-cpp-host `FailState`).
public enum FailState: UInt32, Sendable, CaseIterable {
    case ok = 0
    case unableToCreateVm = 1
    case unableToCloneVm = 2
    case missingFunction = 3
    case unableToInitializeCode = 4
    case startFailed = 5
    case configureFailed = 6
    case runtimeError = 7

    public var name: String {
        switch self {
        case .ok: return "Ok"
        case .unableToCreateVm: return "UnableToCreateVm"
        case .unableToCloneVm: return "UnableToCloneVm"
        case .missingFunction: return "MissingFunction"
        case .unableToInitializeCode: return "UnableToInitializeCode"
        case .startFailed: return "StartFailed"
        case .configureFailed: return "ConfigureFailed"
        case .runtimeError: return "RuntimeError"
        }
    }
}

/// Envoy's `xds.listener_direction` values (an int64 property).
public enum TrafficDirection: Int64, Sendable, CaseIterable {
    case unspecified = 0
    case inbound = 1
    case outbound = 2

    public var name: String {
        switch self {
        case .unspecified: return "UNSPECIFIED"
        case .inbound: return "INBOUND"
        case .outbound: return "OUTBOUND"
        }
    }
}

/// ABI versions a module can declare by exporting a marker function.
public enum ABIVersion: UInt32, Sendable, CaseIterable, Comparable {
    case v0_1_0 = 10
    case v0_2_0 = 20
    case v0_2_1 = 21

    /// The marker export (`() -> ()`, never called) that declares this version.
    public var markerExport: String {
        switch self {
        case .v0_1_0: return "proxy_abi_version_0_1_0"
        case .v0_2_0: return "proxy_abi_version_0_2_0"
        case .v0_2_1: return "proxy_abi_version_0_2_1"
        }
    }

    public var name: String {
        switch self {
        case .v0_1_0: return "0.1.0"
        case .v0_2_0: return "0.2.0"
        case .v0_2_1: return "0.2.1"
        }
    }

    /// The version declared by an export name, if it is an ABI marker.
    public init?(markerExport name: String) {
        for version in ABIVersion.allCases where version.markerExport == name {
            self = version
            return
        }
        return nil
    }

    public static func < (lhs: ABIVersion, rhs: ABIVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}
