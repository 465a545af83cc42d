import Foundation
import ProxyWasmABI
import ProxyWasmHost

/// A scenario file: proxies (sidecars) with their node, properties and
/// plugins, then traffic through them. Loaded from YAML with precise errors.
///
/// ```yaml
/// dialect: current                 # or legacy (pre-1.33 bare property names)
/// proxies:
///   - name: client
///     node: {id: "sidecar~10.0.0.1~productpage.default~cluster.local", metadata: {NAME: productpage-v1}}
///     listener_direction: outbound # or inbound
///     stream_properties: {xds: {cluster_name: "outbound|9080||reviews"}}
///     stats_tags: generated        # what `envoy-config` generates for the proxy's plugins, or a list:
///                                  # [{tag_name: reporter, regex: "(reporter=\\.=(.*?);\\.;)"}]; none: no tags
///     histogram_buckets:           # Envoy's histogram_bucket_settings, or {prefix, buckets}
///       - {match: {safe_regex: {regex: "wasmcustom\\..*istio_request_bytes"}}, buckets: [10, 100]}
///       - {prefix: wasmcustom., buckets: [1, 5, 10]}
///     plugins:
///       - {name: stamp, module: build/wasm/header_stamp.wasm, configuration: {value: hi}}
///         # optional: fail_open, root_id, vm_id, vm_configuration, kind (http|tcp),
///         # allowed_capabilities: [proxy_log, proxy_on_request_headers, fd_write, ...]
///     upstreams:                   # clusters plugins can call out to, with canned answers
///       auth: {http: {status: 200, headers: {x-verdict: ok}, body: granted, latency_ms: 5}}
///       flaky: {http: {reset: true}}
///       ratelimit: {grpc: {messages: ["\u0008\u0001"], status: 0, latency_ms: 2}}
///       drained: {}                # a cluster with no healthy endpoint (503 / Unavailable)
/// traffic:
///   - http:
///       through: [client]          # several proxies: a mesh hop, client first
///       request: {headers: {":path": /reviews, ":method": GET}}
///       response: {status: 200}
///       repeat: 2
///   - tcp:
///       through: [client]
///       exchanges: [{downstream: "ping"}, {upstream: "pong", end: true}]
/// ```
public struct Scenario {
    public struct ProxySpec {
        public var name: String
        public var nodeID: String
        public var cluster: String
        public var metadata: [PropertyEntry]
        public var listenerDirection: TrafficDirection?
        public var streamProperties: [PropertyEntry]
        public var statsTags: StatsTags
        public var histogramBuckets: [HistogramBucketRule]
        public var plugins: [PluginSpec]
        /// Call-out clusters by name.
        public var upstreams: [String: UpstreamSpec] = [:]
    }

    /// A cluster's canned answers: every HTTP call-out gets `http`; every gRPC
    /// call or stream gets `grpc` when it is opened.
    /// How a proxy's Prometheus output names its labels: Envoy's `stats_tags`.
    public enum StatsTags {
        /// These rules, as a bootstrap would list them (none: names stay whole).
        case rules([StatsTagRule])
        /// The rules `envoy-config` generates for the proxy's stats plugin configurations.
        case generated
    }

    public struct UpstreamSpec {
        public var http: HttpCalloutReply?
        public var grpc: GrpcCalloutReply?
    }

    public struct PluginSpec {
        public var name: String
        public var module: URL
        public var rootID: String
        public var vmID: String
        public var configuration: [UInt8]
        public var vmConfiguration: [UInt8]
        public var kind: ContextState.Kind
        public var failOpen: Bool
        /// Envoy's `capability_restriction_config.allowed_capabilities` (empty: unrestricted).
        public var allowedCapabilities: Set<String>
    }

    public struct HTTPExchange {
        public var through: [String]
        public var requestHeaders: [HeaderPair]
        public var requestBody: [UInt8]
        public var responseHeaders: [HeaderPair]
        public var responseBody: [UInt8]
        public var repeatCount: Int
        public var durationMilliseconds: UInt64
    }

    public struct TCPExchange {
        public enum Step {
            case downstream([UInt8], end: Bool)
            case upstream([UInt8], end: Bool)
        }
        public var through: [String]
        public var steps: [Step]
        public var repeatCount: Int
    }

    public enum Traffic {
        case http(HTTPExchange)
        case tcp(TCPExchange)
    }

    public var dialect: PropertyDialect
    public var proxies: [ProxySpec]
    public var traffic: [Traffic]
}

/// A scenario file problem: which file, which field, what was expected.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let field: String
    public let message: String
    public var description: String { "\(file): \(field): \(message)" }
}
