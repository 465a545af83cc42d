import Foundation
import ProxyWasmHost
import TelemetryCore

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

    /// The plugin configurations given as JSON strings, read by the stats
    /// plugin's own parser (empty ones left out), so a configuration the
    /// plugin would refuse is refused here with the plugin's reason.
    static func configurations(_ pluginConfigurations: [String]) throws -> [StatsConfiguration] {
        var configurations: [StatsConfiguration] = []
        for (index, text) in pluginConfigurations.enumerated() where !text.isEmpty {
            do throws(StatsConfigurationError) {
                configurations.append(try StatsConfiguration.parse(Array(text.utf8)))
            } catch {
                throw Problem(message: "plugin configuration \(index + 1): \(error.message)")
            }
        }
        return configurations
    }

    /// The separators the configurations choose: the last one that sets a
    /// separator other than the default wins (one set of tag rules serves
    /// every plugin of the proxy).
    static func separators(_ configurations: [StatsConfiguration]) -> (field: String, value: String) {
        let defaults = StatsConfiguration()
        var fieldSeparator = defaults.fieldSeparator
        var valueSeparator = defaults.valueSeparator
        for configuration in configurations {
            if configuration.fieldSeparator != defaults.fieldSeparator { fieldSeparator = configuration.fieldSeparator }
            if configuration.valueSeparator != defaults.valueSeparator { valueSeparator = configuration.valueSeparator }
        }
        return (fieldSeparator, valueSeparator)
    }

    /// The tag rules for plugin configurations given as JSON strings.
    public static func tagRules(pluginConfigurations: [String]) throws -> [StatsTagRule] {
        tagRules(configurations: try configurations(pluginConfigurations))
    }

    /// The tag rules for stats configurations already read.
    public static func tagRules(configurations: [StatsConfiguration]) -> [StatsTagRule] {
        var names = istioTagOrder
        let (fieldSeparator, valueSeparator) = separators(configurations)
        for configuration in configurations {
            for metric in configuration.overrides {
                // The parser keeps dimensions in sorted key order, as Istio applies them.
                for (key, _) in metric.dimensions where !names.contains(key) { names.append(key) }
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

    /// Per-metric histogram buckets from the JSON of Istio's
    /// `sidecar.istio.io/statsHistogramBuckets` annotation: a map from a stat
    /// name prefix to bounds, e.g. `{"istiocustom.istio_request_duration_milliseconds": [1, 5, 10]}`.
    /// `istiocustom` is Istio's native namespace; the plugin's series live in
    /// Envoy's `wasmcustom` with their labels before the metric name
    /// (`wasmcustom.reporter=.=source;.;...;.;istio_request_bytes`), so a key
    /// `istiocustom.<prefix>` becomes a regex on the metric name after the
    /// last field separator, `istiocustom` alone the namespace prefix, and
    /// any other key (Envoy's own stats, `cluster.xds-grpc`) a plain prefix.
    /// Longer keys come first, so the most specific key wins as in Istio.
    public static func histogramBuckets(annotation: String, pluginConfigurations: [String] = []) throws -> [HistogramBucketRule] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(annotation.utf8)) as? [String: Any] else {
            throw Problem(message: "histogram buckets: expected a JSON object from stat name prefix to a list of bounds")
        }
        let fieldSeparator = separators(try configurations(pluginConfigurations)).field
        var rules: [(key: String, rule: HistogramBucketRule)] = []
        for (key, value) in object {
            guard let list = value as? [Any], !list.isEmpty else {
                throw Problem(message: "histogram buckets for \"\(key)\": expected a non-empty list of bounds")
            }
            var bounds: [Double] = []
            for item in list {
                // JSON booleans are NSNumbers too; their type is the boolean subclass.
                guard let number = item as? NSNumber, type(of: item) == NSNumber.self || String(cString: number.objCType) != "c",
                    number.doubleValue > 0, number.doubleValue.isFinite
                else {
                    throw Problem(message: "histogram buckets for \"\(key)\": every bound must be a number above 0, found \(item)")
                }
                bounds.append(number.doubleValue)
            }
            guard !key.isEmpty else { throw Problem(message: "histogram buckets: a stat name prefix is empty") }
            rules.append((key, HistogramBucketRule(match: match(forKey: key, fieldSeparator: fieldSeparator), buckets: bounds)))
        }
        rules.sort { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }
        return rules.map(\.rule)
    }

    static let istioNamespace = "istiocustom"

    static func match(forKey key: String, fieldSeparator: String) -> HistogramBucketRule.Match {
        if key == istioNamespace { return .prefix("\(StatsStore.namespace).") }
        guard key.hasPrefix(istioNamespace + ".") else {
            // Another namespace or Envoy's own stats: Envoy sees the name as written.
            return .prefix(key)
        }
        let metricPrefix = String(key.dropFirst(istioNamespace.count + 1))
        // The metric name follows the last field separator and never contains
        // its first character (label values are neutralised, so neither do they).
        let stop = fieldSeparator.first.map { escape(String($0)) } ?? ";"
        return .regex("\(escape(StatsStore.namespace))\\.(?:.*\(escape(fieldSeparator)))?\(escape(metricPrefix))[^\(stop)]*")
    }

    /// Envoy's JSON for bucket rules.
    static func json(_ rules: [HistogramBucketRule]) -> [[String: Any]] {
        rules.map { rule in
            switch rule.match {
            case let .prefix(prefix): return ["match": ["prefix": prefix], "buckets": rule.buckets]
            case let .regex(regex): return ["match": ["safe_regex": ["regex": regex]], "buckets": rule.buckets]
            }
        }
    }

    /// The whole `stats_config` object: `histogramBuckets` for every plugin
    /// histogram, or per-metric `bucketRules` (from `histogramBuckets(annotation:)`).
    /// Envoy's own stats keep their default tags; `pluginStatsOnly` keeps only
    /// the plugin's series and the few Envoy stats Istio's bootstrap keeps
    /// (Istio's inclusion matcher, without Envoy's default tags).
    public static func statsConfig(
        pluginConfigurations: [String], histogramBuckets: [Double]? = nil,
        bucketRules: [HistogramBucketRule] = [], pluginStatsOnly: Bool = false
    ) throws -> [String: Any] {
        let rules = try tagRules(pluginConfigurations: pluginConfigurations)
        var config: [String: Any] = [
            "use_all_default_tags": !pluginStatsOnly,
            "stats_tags": rules.map { ["tag_name": $0.name, "regex": $0.pattern] },
        ]
        if pluginStatsOnly {
            var patterns: [[String: Any]] = [["prefix": "\(StatsStore.namespace)."]]
            for prefix in requiredEnvoyPrefixes { patterns.append(["prefix": prefix]) }
            config["stats_matcher"] = ["inclusion_list": ["patterns": patterns]]
        }
        let buckets = bucketRules + (histogramBuckets.map { [HistogramBucketRule(prefix: StatsStore.namespace, buckets: $0)] } ?? [])
        if !buckets.isEmpty { config["histogram_bucket_settings"] = json(buckets) }
        return config
    }

    /// `bootstrap` with `statsConfig` merged into its `stats_config`: the
    /// bootstrap's own tag rules stay (before ours) unless ours name the same
    /// tag; every other key of ours replaces the bootstrap's.
    public static func merged(bootstrap: [String: Any], statsConfig: [String: Any]) -> [String: Any] {
        var result = bootstrap
        var merged = bootstrap["stats_config"] as? [String: Any] ?? [:]
        let ours = statsConfig["stats_tags"] as? [[String: Any]] ?? []
        let names = Set(ours.compactMap { $0["tag_name"] as? String })
        let theirs = (merged["stats_tags"] as? [[String: Any]] ?? []).filter { !names.contains($0["tag_name"] as? String ?? "") }
        for (key, value) in statsConfig { merged[key] = value }
        merged["stats_tags"] = theirs + ours
        result["stats_config"] = merged
        return result
    }

    /// The same rules as the host's renderer uses them.
    public static func statsConfiguration(
        pluginConfigurations: [String], histogramBuckets: [Double]? = nil,
        bucketRules: [HistogramBucketRule] = []
    ) throws -> EnvoyStatsConfiguration {
        EnvoyStatsConfiguration(
            tags: try tagRules(pluginConfigurations: pluginConfigurations),
            histogramBuckets: bucketRules + (histogramBuckets.map { [HistogramBucketRule(prefix: StatsStore.namespace, buckets: $0)] } ?? []))
    }
}
