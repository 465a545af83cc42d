import Foundation
import ProxyWasmHost

/// Generates the `stats_config` block Envoy needs to turn stats.wasm's encoded
/// stat names into Prometheus labels: one `stats_tags` regex per label the
/// plugin configurations can emit (Istio's standard labels, in Istio's order,
/// then every custom dimension), `use_all_default_tags: false`, an inclusion
/// matcher that keeps the `wasmcustom.` series (plus the Envoy stats Istio
/// keeps), and optional histogram buckets.
public enum EnvoyStatsConfig {
    /// Istio 1.12's `DefaultStatTags` order (pkg/bootstrap/config.go), which
    /// fixes the label order of the Prometheus output.
    public static let istioTagOrder: [String] = [
        "reporter", "source_namespace", "source_workload", "source_workload_namespace", "source_principal", "source_app",
        "source_version", "source_cluster", "destination_namespace", "destination_workload", "destination_workload_namespace",
        "destination_principal", "destination_app", "destination_version", "destination_service", "destination_service_name",
        "destination_service_namespace", "destination_port", "destination_cluster", "request_protocol", "request_operation",
        "request_host", "response_flags", "grpc_response_status", "connection_security_policy", "source_canonical_service",
        "destination_canonical_service", "source_canonical_revision", "destination_canonical_revision", "response_code",
    ]

    /// Envoy stats Istio's bootstrap keeps besides the plugin's.
    public static let requiredEnvoyPrefixes = ["cluster_manager", "listener_manager", "server", "cluster.xds-grpc", "wasm"]

    public struct Problem: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Escapes text for use inside a regex.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\.^$|?*+()[]{}".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// The tag rules for plugin configurations given as JSON strings.
    public static func tagRules(pluginConfigurations: [String]) throws -> [StatsTagRule] {
        var names = istioTagOrder
        var fieldSeparator = ";.;", valueSeparator = "=.="
        for (index, text) in pluginConfigurations.enumerated() {
            guard !text.isEmpty else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw Problem(message: "plugin configuration \(index + 1) is not a JSON object")
            }
            if let separator = object["field_separator"] as? String { fieldSeparator = separator }
            if let separator = object["value_separator"] as? String { valueSeparator = separator }
            for metric in object["metrics"] as? [[String: Any]] ?? [] {
                for key in (metric["dimensions"] as? [String: Any] ?? [:]).keys.sorted() where !names.contains(key) {
                    names.append(key)
                }
            }
        }
        // A label starts the name's tag part (after `wasmcustom.`) or follows
        // a field separator: the non-capturing prefix keeps a dimension `code`
        // from matching inside `response_code=.=` (Envoy removes only the
        // first capture group and reads the value from the second).
        let start = "(?:\\.|\(escape(fieldSeparator)))"
        var rules = names.map {
            StatsTagRule(name: $0, pattern: "\(start)(\(escape($0))\(escape(valueSeparator))(.*?)\(escape(fieldSeparator)))")
        }
        // istio_build: `component.proxy.tag.<version>;.istio_build`.
        rules.append(StatsTagRule(name: "component", pattern: #"(component\.(.*?)\.)"#))
        rules.append(StatsTagRule(name: "tag", pattern: #"(tag\.(.*?);\.)"#))
        return rules
    }

    /// The whole `stats_config` object.
    public static func statsConfig(pluginConfigurations: [String], histogramBuckets: [Double]? = nil) throws -> [String: Any] {
        let rules = try tagRules(pluginConfigurations: pluginConfigurations)
        var patterns: [[String: Any]] = [["prefix": "\(StatsStore.namespace)."]]
        for prefix in requiredEnvoyPrefixes { patterns.append(["prefix": prefix]) }
        var config: [String: Any] = [
            "use_all_default_tags": false,
            "stats_tags": rules.map { ["tag_name": $0.name, "regex": $0.pattern] },
            "stats_matcher": ["inclusion_list": ["patterns": patterns]],
        ]
        if let histogramBuckets {
            config["histogram_bucket_settings"] = [["match": ["prefix": StatsStore.namespace], "buckets": histogramBuckets]]
        }
        return config
    }

    /// The same rules as the host's renderer uses them.
    public static func statsConfiguration(pluginConfigurations: [String], histogramBuckets: [Double]? = nil) throws -> StatsConfiguration {
        StatsConfiguration(tags: try tagRules(pluginConfigurations: pluginConfigurations),
                           histogramBuckets: histogramBuckets.map { [HistogramBucketRule(prefix: StatsStore.namespace, buckets: $0)] } ?? [])
    }
}
