import Foundation
import ProxyWasmABI
import ProxyWasmHost
import Yams

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
///     stats_tags: [{tag_name: reporter, regex: "(reporter=\\.=(.*?);\\.;)"}]
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
        public var statsTags: [StatsTagRule]
        public var histogramBuckets: [HistogramBucketRule]
        public var plugins: [PluginSpec]
        /// Call-out clusters by name.
        public var upstreams: [String: UpstreamSpec] = [:]
    }

    /// A cluster's canned answers: every HTTP call-out gets `http`; every gRPC
    /// call or stream gets `grpc` when it is opened.
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

extension Scenario {
    /// Parses a scenario; relative module paths resolve against `baseDirectory`.
    public static func load(yaml text: String, file: String, baseDirectory: URL) throws -> Scenario {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ScenarioError(file: file, field: "(document)", message: "not valid YAML: \(error)")
        }
        var reader = Reader(file: file, base: baseDirectory)
        return try reader.scenario(document)
    }

    public static func load(path: String) throws -> Scenario {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ScenarioError(file: path, field: "(file)", message: "cannot be read")
        }
        return try load(
            yaml: String(decoding: data, as: UTF8.self), file: path,
            baseDirectory: url.deletingLastPathComponent())
    }
}

/// Walks the YAML tree with a field path for error messages.
struct Reader {
    let file: String
    let base: URL

    func fail(_ field: String, _ message: String) -> ScenarioError {
        ScenarioError(file: file, field: field, message: message)
    }

    func typeName(_ value: Any?) -> String {
        switch value {
        case nil: return "nothing"
        case is String: return "a string"
        case is Bool: return "a boolean"
        case is Int, is Double: return "a number"
        case is [Any]: return "a list"
        case is [String: Any]: return "a mapping"
        default: return "\(type(of: value!))"
        }
    }

    func mapping(_ value: Any?, _ field: String) throws -> [String: Any] {
        guard let map = value as? [String: Any] else { throw fail(field, "expected a mapping, found \(typeName(value))") }
        return map
    }

    func list(_ value: Any?, _ field: String) throws -> [Any] {
        guard let items = value as? [Any] else { throw fail(field, "expected a list, found \(typeName(value))") }
        return items
    }

    func string(_ value: Any?, _ field: String) throws -> String {
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        default: throw fail(field, "expected a string, found \(typeName(value))")
        }
    }

    func int(_ value: Any?, _ field: String, minimum: Int = 0) throws -> Int {
        guard let number = value as? Int else { throw fail(field, "expected an integer, found \(typeName(value))") }
        guard number >= minimum else { throw fail(field, "expected an integer >= \(minimum), found \(number)") }
        return number
    }

    func bool(_ value: Any?, _ field: String) throws -> Bool {
        guard let flag = value as? Bool else { throw fail(field, "expected true or false, found \(typeName(value))") }
        return flag
    }

    func checkKeys(_ map: [String: Any], _ known: [String], _ field: String) throws {
        for key in map.keys.sorted() where !known.contains(key) {
            throw fail(field.isEmpty ? key : "\(field).\(key)", "unknown field (known: \(known.joined(separator: ", ")))")
        }
    }

    /// A YAML value as a property: strings, numbers (doubles, as Struct), booleans, maps, lists.
    func property(_ value: Any?, _ field: String) throws -> PropertyNode {
        switch value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .double(Double(number))
        case let number as Double: return .double(number)
        case let items as [Any]: return .list(try items.enumerated().map { try property($0.element, "\(field)[\($0.offset)]") })
        case let map as [String: Any]:
            return .map(try map.keys.sorted().map { PropertyEntry($0, try property(map[$0], "\(field).\($0)")) })
        default: throw fail(field, "expected a string, number, boolean, list or mapping, found \(typeName(value))")
        }
    }

    /// Stream properties keep integers as CEL ints (response codes, ports).
    func streamProperty(_ value: Any?, _ field: String) throws -> PropertyNode {
        switch value {
        case let number as Int: return .int(Int64(number))
        case let map as [String: Any]:
            return .map(try map.keys.sorted().map { PropertyEntry($0, try streamProperty(map[$0], "\(field).\($0)")) })
        default: return try property(value, field)
        }
    }

    func headers(_ value: Any?, _ field: String) throws -> [HeaderPair] {
        guard let value else { return [] }
        if let list = value as? [Any] {
            return try list.enumerated().map { index, item in
                let pair = try self.list(item, "\(field)[\(index)]")
                guard pair.count == 2 else { throw fail("\(field)[\(index)]", "expected [name, value]") }
                return HeaderPair(try string(pair[0], "\(field)[\(index)][0]"), try string(pair[1], "\(field)[\(index)][1]"))
            }
        }
        let map = try mapping(value, field)
        return try map.keys.sorted().map { HeaderPair($0, try string(map[$0], "\(field).\($0)")) }
    }

    func bytes(_ value: Any?, _ field: String) throws -> [UInt8] {
        guard let value else { return [] }
        return Array(try string(value, field).utf8)
    }

    mutating func scenario(_ document: Any?) throws -> Scenario {
        let root = try mapping(document, "(document)")
        try checkKeys(root, ["dialect", "proxies", "traffic"], "")
        var dialect = PropertyDialect.current
        if let value = root["dialect"] {
            let name = try string(value, "dialect")
            guard let parsed = PropertyDialect(rawValue: name) else {
                throw fail("dialect", "expected one of current, legacy, found \"\(name)\"")
            }
            dialect = parsed
        }
        let proxyItems = try list(root["proxies"], "proxies")
        if proxyItems.isEmpty { throw fail("proxies", "expected at least one proxy") }
        var proxies: [Scenario.ProxySpec] = []
        for (index, item) in proxyItems.enumerated() {
            let proxy = try proxySpec(item, "proxies[\(index)]")
            if proxies.contains(where: { $0.name == proxy.name }) {
                throw fail("proxies[\(index)].name", "duplicate proxy name \"\(proxy.name)\"")
            }
            proxies.append(proxy)
        }
        var traffic: [Scenario.Traffic] = []
        for (index, item) in try list(root["traffic"] ?? [Any](), "traffic").enumerated() {
            traffic.append(try trafficItem(item, "traffic[\(index)]", proxies: proxies.map(\.name)))
        }
        return Scenario(dialect: dialect, proxies: proxies, traffic: traffic)
    }

    func proxySpec(_ value: Any?, _ field: String) throws -> Scenario.ProxySpec {
        let map = try mapping(value, field)
        try checkKeys(
            map,
            [
                "name", "node", "listener_direction", "stream_properties", "stats_tags", "histogram_buckets", "plugins",
                "upstreams",
            ], field)
        let name = try string(map["name"], "\(field).name")
        var nodeID = "sidecar~127.0.0.1~\(name).default~cluster.local"
        var cluster = name
        var metadata: [PropertyEntry] = []
        if let nodeValue = map["node"] {
            let node = try mapping(nodeValue, "\(field).node")
            try checkKeys(node, ["id", "cluster", "metadata"], "\(field).node")
            if let id = node["id"] { nodeID = try string(id, "\(field).node.id") }
            if let value = node["cluster"] { cluster = try string(value, "\(field).node.cluster") }
            if let value = node["metadata"] {
                guard case let .map(entries) = try property(try mapping(value, "\(field).node.metadata"), "\(field).node.metadata") else {
                    throw fail("\(field).node.metadata", "expected a mapping")
                }
                metadata = entries
            }
        }
        var direction: TrafficDirection?
        if let value = map["listener_direction"] {
            let text = try string(value, "\(field).listener_direction").uppercased()
            guard let parsed = TrafficDirection.allCases.first(where: { $0.name == text }) else {
                throw fail("\(field).listener_direction", "expected inbound, outbound or unspecified, found \"\(text.lowercased())\"")
            }
            direction = parsed
        }
        var streamProperties: [PropertyEntry] = []
        if let value = map["stream_properties"] {
            guard case let .map(entries) = try streamProperty(try mapping(value, "\(field).stream_properties"), "\(field).stream_properties") else {
                throw fail("\(field).stream_properties", "expected a mapping")
            }
            streamProperties = entries
        }
        var tags: [StatsTagRule] = []
        for (index, item) in try list(map["stats_tags"] ?? [Any](), "\(field).stats_tags").enumerated() {
            let entry = try mapping(item, "\(field).stats_tags[\(index)]")
            try checkKeys(entry, ["tag_name", "regex"], "\(field).stats_tags[\(index)]")
            tags.append(
                StatsTagRule(
                    name: try string(entry["tag_name"], "\(field).stats_tags[\(index)].tag_name"),
                    pattern: try string(entry["regex"], "\(field).stats_tags[\(index)].regex")))
        }
        var buckets: [HistogramBucketRule] = []
        for (index, item) in try list(map["histogram_buckets"] ?? [Any](), "\(field).histogram_buckets").enumerated() {
            buckets.append(try bucketRule(item, "\(field).histogram_buckets[\(index)]"))
        }
        var plugins: [Scenario.PluginSpec] = []
        for (index, item) in try list(map["plugins"] ?? [Any](), "\(field).plugins").enumerated() {
            plugins.append(try pluginSpec(item, "\(field).plugins[\(index)]"))
        }
        var upstreams: [String: Scenario.UpstreamSpec] = [:]
        for (cluster, item) in try mapping(map["upstreams"] ?? [String: Any](), "\(field).upstreams") {
            upstreams[cluster] = try upstreamSpec(item, "\(field).upstreams.\(cluster)")
        }
        return Scenario.ProxySpec(
            name: name, nodeID: nodeID, cluster: cluster, metadata: metadata, listenerDirection: direction,
            streamProperties: streamProperties, statsTags: tags, histogramBuckets: buckets, plugins: plugins,
            upstreams: upstreams)
    }

    func upstreamSpec(_ value: Any?, _ field: String) throws -> Scenario.UpstreamSpec {
        let map = try mapping(value, field)
        try checkKeys(map, ["http", "grpc"], field)
        var spec = Scenario.UpstreamSpec()
        if let value = map["http"] {
            let http = try mapping(value, "\(field).http")
            try checkKeys(http, ["status", "headers", "body", "trailers", "reset", "latency_ms"], "\(field).http")
            let latency = UInt64(try http["latency_ms"].map { try int($0, "\(field).http.latency_ms") } ?? 0)
            if try http["reset"].map({ try bool($0, "\(field).http.reset") }) == true {
                if let extra = ["status", "headers", "body", "trailers"].first(where: { http[$0] != nil }) {
                    throw fail("\(field).http.\(extra)", "a reset has no response")
                }
                spec.http = .reset(latencyMilliseconds: latency)
            } else {
                spec.http = .response(
                    status: try http["status"].map { try int($0, "\(field).http.status", minimum: 100) } ?? 200,
                    headers: try headers(http["headers"], "\(field).http.headers"),
                    body: try bytes(http["body"], "\(field).http.body"),
                    trailers: try headers(http["trailers"], "\(field).http.trailers"), latencyMilliseconds: latency)
            }
        }
        if let value = map["grpc"] {
            let grpc = try mapping(value, "\(field).grpc")
            try checkKeys(
                grpc, ["initial_metadata", "messages", "trailing_metadata", "status", "status_message", "latency_ms"],
                "\(field).grpc")
            var events: [GrpcCalloutEvent] = []
            if let metadata = grpc["initial_metadata"] { events.append(.initialMetadata(try headers(metadata, "\(field).grpc.initial_metadata"))) }
            for (index, message) in try list(grpc["messages"] ?? [Any](), "\(field).grpc.messages").enumerated() {
                events.append(.message(try bytes(message, "\(field).grpc.messages[\(index)]")))
            }
            if let metadata = grpc["trailing_metadata"] {
                events.append(.trailingMetadata(try headers(metadata, "\(field).grpc.trailing_metadata")))
            }
            if let status = grpc["status"] {
                let code = try int(status, "\(field).grpc.status")
                guard code <= 16 else { throw fail("\(field).grpc.status", "expected a gRPC status 0...16, found \(code)") }
                events.append(
                    .close(
                        status: UInt32(code),
                        message: try grpc["status_message"].map { try string($0, "\(field).grpc.status_message") } ?? ""))
            }
            spec.grpc = GrpcCalloutReply(
                events, latencyMilliseconds: UInt64(try grpc["latency_ms"].map { try int($0, "\(field).grpc.latency_ms") } ?? 0))
        }
        return spec
    }

    func configurationBytes(_ value: Any?, _ field: String) throws -> [UInt8] {
        switch value {
        case nil: return []
        case let text as String: return Array(text.utf8)
        case is [String: Any], is [Any]:
            guard JSONSerialization.isValidJSONObject(value!),
                let data = try? JSONSerialization.data(withJSONObject: value!, options: [.sortedKeys, .withoutEscapingSlashes])
            else {
                throw fail(field, "cannot be written as JSON")
            }
            return [UInt8](data)
        default: throw fail(field, "expected a string or a mapping (sent as JSON), found \(typeName(value))")
        }
    }

    /// `${NAME}` in a module path is the environment variable NAME (e.g. a
    /// directory of modules that is not part of the checkout); unset is an error.
    func expandingEnvironment(_ text: String, _ field: String) throws -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw fail(field, "unterminated ${ in \"\(text)\"")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw fail(field, "\"\(text)\" needs the environment variable \(name), which is not set")
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    /// One bucket rule: Envoy's `{match: {prefix | safe_regex: {regex}}, buckets}`
    /// as `envoy-config` prints it, or the short `{prefix, buckets}`.
    func bucketRule(_ value: Any?, _ field: String) throws -> HistogramBucketRule {
        let entry = try mapping(value, field)
        try checkKeys(entry, ["prefix", "match", "buckets"], field)
        let values = try list(entry["buckets"], "\(field).buckets").enumerated().map { offset, bucket in
            guard let number = (bucket as? Double) ?? (bucket as? Int).map(Double.init) else {
                throw fail("\(field).buckets[\(offset)]", "expected a number, found \(typeName(bucket))")
            }
            return number
        }
        if entry["match"] == nil {
            return HistogramBucketRule(prefix: try string(entry["prefix"], "\(field).prefix"), buckets: values)
        }
        if entry["prefix"] != nil { throw fail(field, "give prefix or match, not both") }
        let match = try mapping(entry["match"], "\(field).match")
        try checkKeys(match, ["prefix", "safe_regex"], "\(field).match")
        if let regex = match["safe_regex"] {
            let inner = try mapping(regex, "\(field).match.safe_regex")
            try checkKeys(inner, ["regex"], "\(field).match.safe_regex")
            return HistogramBucketRule(match: .regex(try string(inner["regex"], "\(field).match.safe_regex.regex")), buckets: values)
        }
        return HistogramBucketRule(prefix: try string(match["prefix"], "\(field).match.prefix"), buckets: values)
    }

    func pluginSpec(_ value: Any?, _ field: String) throws -> Scenario.PluginSpec {
        let map = try mapping(value, field)
        try checkKeys(
            map,
            [
                "name", "module", "root_id", "vm_id", "configuration", "vm_configuration", "kind", "fail_open",
                "allowed_capabilities",
            ], field)
        let name = try string(map["name"], "\(field).name")
        let modulePath = try expandingEnvironment(try string(map["module"], "\(field).module"), "\(field).module")
        let module = modulePath.hasPrefix("/") ? URL(fileURLWithPath: modulePath) : base.appendingPathComponent(modulePath)
        var kind = ContextState.Kind.http
        if let value = map["kind"] {
            let text = try string(value, "\(field).kind")
            guard text == "http" || text == "tcp" else { throw fail("\(field).kind", "expected http or tcp, found \"\(text)\"") }
            kind = text == "http" ? .http : .tcp
        }
        return Scenario.PluginSpec(
            name: name, module: module,
            rootID: try map["root_id"].map { try string($0, "\(field).root_id") } ?? name,
            vmID: try map["vm_id"].map { try string($0, "\(field).vm_id") } ?? name,
            configuration: try configurationBytes(map["configuration"], "\(field).configuration"),
            vmConfiguration: try configurationBytes(map["vm_configuration"], "\(field).vm_configuration"),
            kind: kind, failOpen: try map["fail_open"].map { try bool($0, "\(field).fail_open") } ?? false,
            allowedCapabilities: Set(
                try map["allowed_capabilities"].map { value in
                    try list(value, "\(field).allowed_capabilities").enumerated().map {
                        try string($0.element, "\(field).allowed_capabilities[\($0.offset)]")
                    }
                } ?? []))
    }

    func through(_ map: [String: Any], _ field: String, proxies: [String]) throws -> [String] {
        let names = try list(map["through"], "\(field).through").enumerated().map { try string($0.element, "\(field).through[\($0.offset)]") }
        if names.isEmpty { throw fail("\(field).through", "expected at least one proxy name") }
        for (index, name) in names.enumerated() where !proxies.contains(name) {
            throw fail("\(field).through[\(index)]", "no proxy named \"\(name)\" (proxies: \(proxies.joined(separator: ", ")))")
        }
        return names
    }

    func trafficItem(_ value: Any?, _ field: String, proxies: [String]) throws -> Scenario.Traffic {
        let map = try mapping(value, field)
        try checkKeys(map, ["http", "tcp"], field)
        if let http = map["http"] {
            let spec = try mapping(http, "\(field).http")
            try checkKeys(spec, ["through", "request", "response", "repeat", "duration_ms"], "\(field).http")
            let request = try mapping(spec["request"] ?? [String: Any](), "\(field).http.request")
            try checkKeys(request, ["headers", "body"], "\(field).http.request")
            let response = try mapping(spec["response"] ?? [String: Any](), "\(field).http.response")
            try checkKeys(response, ["status", "headers", "body"], "\(field).http.response")
            var responseHeaders = try headers(response["headers"], "\(field).http.response.headers")
            let status = try response["status"].map { try int($0, "\(field).http.response.status", minimum: 100) } ?? 200
            responseHeaders.insert(HeaderPair(":status", String(status)), at: 0)
            var requestHeaders = try headers(request["headers"], "\(field).http.request.headers")
            for (key, value) in [(":method", "GET"), (":path", "/"), (":scheme", "http")]
            where !requestHeaders.contains(where: { $0.keyString == key }) {
                requestHeaders.append(HeaderPair(key, value))
            }
            return .http(
                Scenario.HTTPExchange(
                    through: try through(spec, "\(field).http", proxies: proxies), requestHeaders: requestHeaders,
                    requestBody: try bytes(request["body"], "\(field).http.request.body"), responseHeaders: responseHeaders,
                    responseBody: try bytes(response["body"], "\(field).http.response.body"),
                    repeatCount: try spec["repeat"].map { try int($0, "\(field).http.repeat", minimum: 1) } ?? 1,
                    durationMilliseconds: UInt64(try spec["duration_ms"].map { try int($0, "\(field).http.duration_ms") } ?? 0)))
        }
        if let tcp = map["tcp"] {
            let spec = try mapping(tcp, "\(field).tcp")
            try checkKeys(spec, ["through", "exchanges", "repeat"], "\(field).tcp")
            var steps: [Scenario.TCPExchange.Step] = []
            for (index, item) in try list(spec["exchanges"], "\(field).tcp.exchanges").enumerated() {
                let step = try mapping(item, "\(field).tcp.exchanges[\(index)]")
                try checkKeys(step, ["downstream", "upstream", "end"], "\(field).tcp.exchanges[\(index)]")
                let end = try step["end"].map { try bool($0, "\(field).tcp.exchanges[\(index)].end") } ?? false
                if let data = step["downstream"] {
                    steps.append(.downstream(try bytes(data, "\(field).tcp.exchanges[\(index)].downstream"), end: end))
                } else if let data = step["upstream"] {
                    steps.append(.upstream(try bytes(data, "\(field).tcp.exchanges[\(index)].upstream"), end: end))
                } else {
                    throw fail("\(field).tcp.exchanges[\(index)]", "expected downstream or upstream bytes")
                }
            }
            return .tcp(
                Scenario.TCPExchange(
                    through: try through(spec, "\(field).tcp", proxies: proxies), steps: steps,
                    repeatCount: try spec["repeat"].map { try int($0, "\(field).tcp.repeat", minimum: 1) } ?? 1))
        }
        throw fail(field, "expected http or tcp")
    }
}
