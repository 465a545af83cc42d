import PluginJSON
import TelemetryCore

/// The plugin configuration (JSON):
///
///     {
///       "max_peer_cache_size": 500,      // Istio's field; number or numeric string; 0 disables
///       "allow_plaintext_tcp": false,    // TCP: exchange on inbound connections without mTLS
///       "exchange_instance_ips": false,  // also send INSTANCE_IPS (Istio 1.17+)
///       "skip_external_clusters": false  // no headers towards PassthroughCluster or
///                                        // clusters with filter_metadata.istio.external: true
///     }
public struct ExchangeConfiguration: Equatable {
    public var maxPeerCacheSize = 500
    public var allowPlaintextTCP = false
    public var exchangeInstanceIPs = false
    public var skipExternalClusters = false

    public init() {}

    public static func parse(_ bytes: [UInt8]) throws(ExchangeConfigurationError) -> ExchangeConfiguration {
        var configuration = ExchangeConfiguration()
        if bytes.isEmpty { return configuration }
        let document: JSONValue
        do throws(JSONError) { document = try JSONParser.parse(bytes) } catch { throw ExchangeConfigurationError(error.message) }
        guard case let .object(members) = document else {
            throw ExchangeConfigurationError("expected a JSON object, found \(document.typeName)")
        }
        for member in members {
            guard let field = Field(name: member.key) else {
                throw ExchangeConfigurationError("unknown field \"\(member.key)\" (known: \(Field.names))")
            }
            switch field {
            case .maxPeerCacheSize: configuration.maxPeerCacheSize = try cacheSize(member.value)
            case .allowPlaintextTCP: configuration.allowPlaintextTCP = try bool(member.value, field: member.key)
            case .exchangeInstanceIPs: configuration.exchangeInstanceIPs = try bool(member.value, field: member.key)
            case .skipExternalClusters: configuration.skipExternalClusters = try bool(member.value, field: member.key)
            }
        }
        return configuration
    }

    /// The configuration's fields, matched as bytes.
    enum Field: Int, NamedByBytes {
        case maxPeerCacheSize, allowPlaintextTCP, exchangeInstanceIPs, skipExternalClusters

        static let names: StaticString = "max_peer_cache_size, allow_plaintext_tcp, exchange_instance_ips, skip_external_clusters"
    }

    /// Istio accepts a number or a numeric string (protobuf JSON for UInt32Value).
    static func cacheSize(_ value: JSONValue) throws(ExchangeConfigurationError) -> Int {
        let text: String
        switch value {
        case let .number(number): text = number
        case let .string(string): text = string
        default: throw ExchangeConfigurationError("field \"max_peer_cache_size\" must be a number, found \(value.typeName)")
        }
        guard let size = Int(text), size >= 0, size <= 1_000_000 else {
            throw ExchangeConfigurationError("field \"max_peer_cache_size\" must be an integer from 0 to 1000000, found \(text)")
        }
        return size
    }

    static func bool(_ value: JSONValue, field: String) throws(ExchangeConfigurationError) -> Bool {
        switch value {
        case let .bool(flag): return flag
        case let .string(text) where UTF8Text.equal(text, "true"): return true
        case let .string(text) where UTF8Text.equal(text, "false"): return false
        default: throw ExchangeConfigurationError("field \"\(field)\" must be true or false, found \(value.typeName)")
        }
    }
}

public struct ExchangeConfigurationError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
