import Foundation
import ProxyWasmABI
import ProxyWasmHost
import Yams

extension Scenario {
    /// Parses a scenario; relative module paths resolve against `baseDirectory`.
    public static func load(yaml text: String, file: String, baseDirectory: URL) throws -> Scenario {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ScenarioError(file: file, field: "(document)", message: "not valid YAML: \(error)")
        }
        return try ScenarioReader(base: baseDirectory).scenario(ScenarioField(document: document, file: file))
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

/// Reads a scenario document into the model, one field at a time; every
/// error names the field it found wrong (`ScenarioField` carries the path).
struct ScenarioReader {
    /// The directory relative module paths resolve against.
    let base: URL

    func scenario(_ root: ScenarioField) throws -> Scenario {
        try root.mapping(known: ["dialect", "proxies", "traffic"])
        var dialect = PropertyDialect.current
        if let field = root["dialect"].ifPresent {
            let name = try field.string()
            guard let parsed = PropertyDialect(rawValue: name) else {
                throw field.fail("expected one of current, legacy, found \"\(name)\"")
            }
            dialect = parsed
        }
        let proxyFields = try root["proxies"].elements()
        if proxyFields.isEmpty { throw root["proxies"].fail("expected at least one proxy") }
        var proxies: [Scenario.ProxySpec] = []
        for field in proxyFields {
            let proxy = try proxySpec(field)
            if proxies.contains(where: { $0.name == proxy.name }) {
                throw field["name"].fail("duplicate proxy name \"\(proxy.name)\"")
            }
            proxies.append(proxy)
        }
        let names = proxies.map(\.name)
        let traffic = try root["traffic"].elementsIfPresent().map { try trafficItem($0, proxies: names) }
        return Scenario(dialect: dialect, proxies: proxies, traffic: traffic)
    }

    // MARK: values

    /// A YAML value as a property: strings, numbers (doubles, as Struct), booleans, maps, lists.
    func property(_ field: ScenarioField) throws -> PropertyNode {
        switch field.value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .double(Double(number))
        case let number as Double: return .double(number)
        case is [Any]: return .list(try field.elements().map(property))
        case is [String: Any]: return .map(try field.members().map { PropertyEntry($0.key, try property($0.field)) })
        default: throw field.fail("expected a string, number, boolean, list or mapping, found \(field.typeName)")
        }
    }

    /// Stream properties keep integers as CEL ints (response codes, ports).
    func streamProperty(_ field: ScenarioField) throws -> PropertyNode {
        switch field.value {
        case let number as Int: return .int(Int64(number))
        case is [String: Any]: return .map(try field.members().map { PropertyEntry($0.key, try streamProperty($0.field)) })
        default: return try property(field)
        }
    }

    /// The entries of a mapping given as properties.
    func propertyEntries(_ field: ScenarioField, _ read: (ScenarioField) throws -> PropertyNode) throws -> [PropertyEntry] {
        _ = try field.mapping()
        guard case let .map(entries) = try read(field) else { throw field.fail("expected a mapping") }
        return entries
    }

    /// Headers as a mapping (sorted by name) or as a list of `[name, value]` pairs (in order).
    func headers(_ field: ScenarioField) throws -> [HeaderPair] {
        guard field.value != nil else { return [] }
        if field.value is [Any] {
            return try field.elements().map { element in
                let pair = try element.elements()
                guard pair.count == 2 else { throw element.fail("expected [name, value]") }
                return HeaderPair(try pair[0].string(), try pair[1].string())
            }
        }
        return try field.members().map { HeaderPair($0.key, try $0.field.string()) }
    }

    func bytes(_ field: ScenarioField) throws -> [UInt8] {
        guard field.value != nil else { return [] }
        return Array(try field.string().utf8)
    }

    /// A plugin configuration: a string as it is, a mapping or list as JSON.
    func configurationBytes(_ field: ScenarioField) throws -> [UInt8] {
        switch field.value {
        case nil: return []
        case let text as String: return Array(text.utf8)
        case let value? where value is [String: Any] || value is [Any]:
            guard JSONSerialization.isValidJSONObject(value),
                let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
            else {
                throw field.fail("cannot be written as JSON")
            }
            return [UInt8](data)
        default: throw field.fail("expected a string or a mapping (sent as JSON), found \(field.typeName)")
        }
    }

    /// `${NAME}` in a module path is the environment variable NAME (e.g. a
    /// directory of modules that is not part of the checkout); unset is an error.
    func expandingEnvironment(_ field: ScenarioField) throws -> String {
        let text = try field.string()
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw field.fail("unterminated ${ in \"\(text)\"")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw field.fail("\"\(text)\" needs the environment variable \(name), which is not set")
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    // MARK: proxies

    func proxySpec(_ field: ScenarioField) throws -> Scenario.ProxySpec {
        try field.mapping(known: [
            "name", "node", "listener_direction", "stream_properties", "stats_tags", "histogram_buckets", "plugins", "upstreams",
        ])
        let name = try field["name"].string()
        var nodeID = "sidecar~127.0.0.1~\(name).default~cluster.local"
        var cluster = name
        var metadata: [PropertyEntry] = []
        if let node = field["node"].ifPresent {
            try node.mapping(known: ["id", "cluster", "metadata"])
            if let id = node["id"].ifPresent { nodeID = try id.string() }
            if let value = node["cluster"].ifPresent { cluster = try value.string() }
            if let value = node["metadata"].ifPresent { metadata = try propertyEntries(value, property) }
        }
        var direction: TrafficDirection?
        if let value = field["listener_direction"].ifPresent {
            let text = try value.string().uppercased()
            guard let parsed = TrafficDirection.allCases.first(where: { $0.name == text }) else {
                throw value.fail("expected inbound, outbound or unspecified, found \"\(text.lowercased())\"")
            }
            direction = parsed
        }
        let streamProperties = try field["stream_properties"].ifPresent.map { try propertyEntries($0, streamProperty) } ?? []
        var upstreams: [String: Scenario.UpstreamSpec] = [:]
        if let value = field["upstreams"].ifPresent {
            for (cluster, upstream) in try value.members() { upstreams[cluster] = try upstreamSpec(upstream) }
        }
        return Scenario.ProxySpec(
            name: name, nodeID: nodeID, cluster: cluster, metadata: metadata, listenerDirection: direction,
            streamProperties: streamProperties, statsTags: try statsTags(field["stats_tags"]),
            histogramBuckets: try field["histogram_buckets"].elementsIfPresent().map(bucketRule),
            plugins: try field["plugins"].elementsIfPresent().map(pluginSpec), upstreams: upstreams)
    }

    /// `generated`, or a list of `{tag_name, regex}`; absent: no tag rules.
    func statsTags(_ field: ScenarioField) throws -> Scenario.StatsTags {
        if field.value == nil { return .rules([]) }
        if let text = field.value as? String {
            guard text == "generated" else { throw field.fail("expected generated or a list of {tag_name, regex}, found \"\(text)\"") }
            return .generated
        }
        return .rules(
            try field.elements().map { entry in
                try entry.mapping(known: ["tag_name", "regex"])
                return StatsTagRule(name: try entry["tag_name"].string(), pattern: try entry["regex"].string())
            })
    }

    /// One bucket rule: Envoy's `{match: {prefix | safe_regex: {regex}}, buckets}`
    /// as `envoy-config` prints it, or the short `{prefix, buckets}`.
    func bucketRule(_ field: ScenarioField) throws -> HistogramBucketRule {
        let entry = try field.mapping(known: ["prefix", "match", "buckets"])
        let values = try field["buckets"].elements().map { bucket in
            guard let number = (bucket.value as? Double) ?? (bucket.value as? Int).map(Double.init) else {
                throw bucket.fail("expected a number, found \(bucket.typeName)")
            }
            return number
        }
        if entry["match"] == nil { return HistogramBucketRule(prefix: try field["prefix"].string(), buckets: values) }
        if entry["prefix"] != nil { throw field.fail("give prefix or match, not both") }
        let match = field["match"]
        try match.mapping(known: ["prefix", "safe_regex"])
        if let regex = match["safe_regex"].ifPresent {
            try regex.mapping(known: ["regex"])
            return HistogramBucketRule(match: .regex(try regex["regex"].string()), buckets: values)
        }
        return HistogramBucketRule(prefix: try match["prefix"].string(), buckets: values)
    }

    func pluginSpec(_ field: ScenarioField) throws -> Scenario.PluginSpec {
        try field.mapping(known: [
            "name", "module", "root_id", "vm_id", "configuration", "vm_configuration", "kind", "fail_open", "allowed_capabilities",
        ])
        let name = try field["name"].string()
        let modulePath = try expandingEnvironment(field["module"])
        let module = modulePath.hasPrefix("/") ? URL(fileURLWithPath: modulePath) : base.appendingPathComponent(modulePath)
        var kind = ContextState.Kind.http
        if let value = field["kind"].ifPresent {
            let text = try value.string()
            guard text == "http" || text == "tcp" else { throw value.fail("expected http or tcp, found \"\(text)\"") }
            kind = text == "http" ? .http : .tcp
        }
        return Scenario.PluginSpec(
            name: name, module: module,
            rootID: try field["root_id"].ifPresent?.string() ?? name,
            vmID: try field["vm_id"].ifPresent?.string() ?? name,
            configuration: try configurationBytes(field["configuration"]),
            vmConfiguration: try configurationBytes(field["vm_configuration"]),
            kind: kind, failOpen: try field["fail_open"].ifPresent?.bool() ?? false,
            allowedCapabilities: Set(try field["allowed_capabilities"].elementsIfPresent().map { try $0.string() }))
    }

    func upstreamSpec(_ field: ScenarioField) throws -> Scenario.UpstreamSpec {
        try field.mapping(known: ["http", "grpc"])
        var spec = Scenario.UpstreamSpec()
        if let http = field["http"].ifPresent {
            let map = try http.mapping(known: ["status", "headers", "body", "trailers", "reset", "latency_ms"])
            let latency = UInt64(try http["latency_ms"].ifPresent?.int() ?? 0)
            if try http["reset"].ifPresent?.bool() == true {
                if let extra = ["status", "headers", "body", "trailers"].first(where: { map[$0] != nil }) {
                    throw http[extra].fail("a reset has no response")
                }
                spec.http = .reset(latencyMilliseconds: latency)
            } else {
                spec.http = .response(
                    status: try http["status"].ifPresent?.int(minimum: 100) ?? 200, headers: try headers(http["headers"]),
                    body: try bytes(http["body"]), trailers: try headers(http["trailers"]), latencyMilliseconds: latency)
            }
        }
        if let grpc = field["grpc"].ifPresent {
            try grpc.mapping(known: ["initial_metadata", "messages", "trailing_metadata", "status", "status_message", "latency_ms"])
            var events: [GrpcCalloutEvent] = []
            if let metadata = grpc["initial_metadata"].ifPresent { events.append(.initialMetadata(try headers(metadata))) }
            for message in try grpc["messages"].elementsIfPresent() { events.append(.message(try bytes(message))) }
            if let metadata = grpc["trailing_metadata"].ifPresent { events.append(.trailingMetadata(try headers(metadata))) }
            if let status = grpc["status"].ifPresent {
                let code = try status.int()
                guard code <= 16 else { throw status.fail("expected a gRPC status 0...16, found \(code)") }
                events.append(.close(status: UInt32(code), message: try grpc["status_message"].ifPresent?.string() ?? ""))
            }
            spec.grpc = GrpcCalloutReply(events, latencyMilliseconds: UInt64(try grpc["latency_ms"].ifPresent?.int() ?? 0))
        }
        return spec
    }

    // MARK: traffic

    func through(_ field: ScenarioField, proxies: [String]) throws -> [String] {
        let elements = try field.elements()
        if elements.isEmpty { throw field.fail("expected at least one proxy name") }
        return try elements.map { element in
            let name = try element.string()
            guard proxies.contains(name) else {
                throw element.fail("no proxy named \"\(name)\" (proxies: \(proxies.joined(separator: ", ")))")
            }
            return name
        }
    }

    func trafficItem(_ field: ScenarioField, proxies: [String]) throws -> Scenario.Traffic {
        try field.mapping(known: ["http", "tcp"])
        if let http = field["http"].ifPresent {
            try http.mapping(known: ["through", "request", "response", "repeat", "duration_ms"])
            let request = http["request"]
            if request.value != nil { try request.mapping(known: ["headers", "body"]) }
            let response = http["response"]
            if response.value != nil { try response.mapping(known: ["status", "headers", "body"]) }
            var responseHeaders = try headers(response["headers"])
            let status = try response["status"].ifPresent?.int(minimum: 100) ?? 200
            responseHeaders.insert(HeaderPair(":status", String(status)), at: 0)
            var requestHeaders = try headers(request["headers"])
            for (key, value) in [(":method", "GET"), (":path", "/"), (":scheme", "http")]
            where !requestHeaders.contains(where: { $0.keyString == key }) {
                requestHeaders.append(HeaderPair(key, value))
            }
            return .http(
                Scenario.HTTPExchange(
                    through: try through(http["through"], proxies: proxies), requestHeaders: requestHeaders,
                    requestBody: try bytes(request["body"]), responseHeaders: responseHeaders,
                    responseBody: try bytes(response["body"]),
                    repeatCount: try http["repeat"].ifPresent?.int(minimum: 1) ?? 1,
                    durationMilliseconds: UInt64(try http["duration_ms"].ifPresent?.int() ?? 0)))
        }
        if let tcp = field["tcp"].ifPresent {
            try tcp.mapping(known: ["through", "exchanges", "repeat"])
            let steps = try tcp["exchanges"].elements().map { step -> Scenario.TCPExchange.Step in
                try step.mapping(known: ["downstream", "upstream", "end"])
                let end = try step["end"].ifPresent?.bool() ?? false
                if let data = step["downstream"].ifPresent { return .downstream(try bytes(data), end: end) }
                if let data = step["upstream"].ifPresent { return .upstream(try bytes(data), end: end) }
                throw step.fail("expected downstream or upstream bytes")
            }
            return .tcp(
                Scenario.TCPExchange(
                    through: try through(tcp["through"], proxies: proxies), steps: steps,
                    repeatCount: try tcp["repeat"].ifPresent?.int(minimum: 1) ?? 1))
        }
        throw field.fail("expected http or tcp")
    }
}
