// HeaderStamp: a small example plugin that exercises the SDK end to end.
//
// - configuration (JSON, validated at configure time; invalid -> rejected),
// - properties (the local node's metadata NAME, `xds.` name first, then the
//   pre-1.33 bare name),
// - headers (adds a response header built from the node name and a configured
//   value; reads the request path),
// - metrics (counts requests and denials),
// - local replies (answers 403 for a configured path prefix).
//
// Configuration, all fields optional:
//   {"header": "x-swift-stamp", "value": "hello", "deny_path_prefix": "/admin"}

import PluginJSON
import ProxyWasm

/// The validated plugin configuration.
public struct StampConfiguration: Equatable {
    public var header = "x-swift-stamp"
    public var value = "swift"
    /// Requests whose `:path` starts with these bytes get a 403. Empty: none.
    public var denyPathPrefix: [UInt8] = []

    public init() {}

    /// Parses the plugin configuration. An empty buffer means all defaults.
    public static func parse(_ bytes: [UInt8]) throws(ConfigurationError) -> StampConfiguration {
        var configuration = StampConfiguration()
        if bytes.isEmpty { return configuration }
        let document: JSONValue
        do throws(JSONError) {
            document = try JSONParser.parse(bytes)
        } catch {
            throw ConfigurationError(error.message)
        }
        guard case let .object(members) = document else {
            throw ConfigurationError("expected a JSON object, found \(document.typeName)")
        }
        for member in members {
            switch member.key {
            case "header":
                let header = try string(member.value, field: "header")
                if header.isEmpty { throw ConfigurationError("field \"header\" must not be empty") }
                for byte in header.utf8 where !isTokenByte(byte) {
                    throw ConfigurationError("field \"header\" must be a lower-case HTTP header name, got \"\(header)\"")
                }
                configuration.header = header
            case "value":
                configuration.value = try string(member.value, field: "value")
            case "deny_path_prefix":
                let prefix = try string(member.value, field: "deny_path_prefix")
                if !prefix.isEmpty && prefix.utf8.first != UInt8(ascii: "/") {
                    throw ConfigurationError("field \"deny_path_prefix\" must start with '/', got \"\(prefix)\"")
                }
                configuration.denyPathPrefix = Array(prefix.utf8)
            default:
                throw ConfigurationError("unknown field \"\(member.key)\" (known: header, value, deny_path_prefix)")
            }
        }
        return configuration
    }

    private static func string(_ value: JSONValue, field: String) throws(ConfigurationError) -> String {
        guard case let .string(text) = value else {
            throw ConfigurationError("field \"\(field)\" must be a string, found \(value.typeName)")
        }
        return text
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}

/// A configuration problem, worded for the log line.
public struct ConfigurationError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Names of the metrics this plugin defines.
public enum StampMetrics {
    public static let requests = "header_stamp_requests_total"
    public static let denied = "header_stamp_denied_total"
}

/// One instance per plugin configuration.
public final class StampRoot: RootContext {
    public private(set) var configuration = StampConfiguration()
    /// The response header value, computed once per configuration.
    public private(set) var stamp = ""
    var requests: Metric?
    var denied: Metric?
    private let metrics = MetricCache()

    public override func onConfigure(pluginConfigurationSize: Int) -> Bool {
        let bytes: [UInt8]
        do throws(HostError) {
            bytes = pluginConfigurationSize == 0 ? [] : try pluginConfiguration()
        } catch {
            Log.error("header_stamp: cannot read the plugin configuration: \(error.status.name)")
            return false
        }
        do throws(ConfigurationError) {
            configuration = try StampConfiguration.parse(bytes)
        } catch {
            Log.error("header_stamp: invalid configuration: \(error.message)")
            return false
        }
        stamp = configuration.value + "; node=" + (Self.localNodeName() ?? "unknown")
        do throws(HostError) {
            requests = try metrics.metric(.counter, StampMetrics.requests)
            denied = try metrics.metric(.counter, StampMetrics.denied)
        } catch {
            Log.error("header_stamp: cannot define metrics: \(error.status.name)")
            return false
        }
        Log.info("header_stamp: configured, stamping \(configuration.header): \(stamp)")
        return true
    }

    public override func createHttpContext(id: UInt32) -> HttpContext? {
        StampStream(id: id, root: self)
    }

    /// The local node's metadata NAME: current Envoy (`xds.node...`) first,
    /// then the bare name older Envoy answers.
    static func localNodeName() -> String? {
        guard let name = XDSAttributes().string(["node", "metadata", "NAME"]), !name.isEmpty else { return nil }
        return name
    }
}

/// One HTTP stream.
final class StampStream: HttpContext {
    let root: StampRoot

    init(id: UInt32, root: StampRoot) {
        self.root = root
        super.init(id: id, rootID: root.id)
    }

    override func onRequestHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        try? root.requests?.increment()
        let prefix = root.configuration.denyPathPrefix
        if prefix.isEmpty { return .continue }
        guard let path = try? HeaderMap.requestHeaders.valueBytes(":path"), path.starts(with: prefix) else {
            return .continue
        }
        try? root.denied?.increment()
        do throws(HostError) {
            try StreamControl.sendLocalResponse(
                status: 403, details: "header_stamp_denied",
                body: Array("denied by header_stamp\n".utf8))
        } catch {
            Log.warn("header_stamp: local reply failed: \(error.status.name)")
            return .continue
        }
        return .stopIteration
    }

    override func onResponseHeaders(headerCount: Int, endOfStream: Bool) -> FilterHeadersStatus {
        do throws(HostError) {
            try HeaderMap.responseHeaders.replace(root.configuration.header, root.stamp)
        } catch {
            Log.debug("header_stamp: cannot set the response header: \(error.status.name)")
        }
        return .continue
    }
}

/// Registers the plugin's root context factory.
public enum HeaderStampPlugin {
    public static func register() {
        ProxyWasm.setRootContextFactory { StampRoot(id: $0) }
    }
}

#if arch(wasm32)
@_cdecl("proxy_wasm_swift_main")
func proxyWasmSwiftMain() { HeaderStampPlugin.register() }
#endif
