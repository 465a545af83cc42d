import ProxyWasmTools
import Testing

@testable import ProxyWasmHost

/// The `stats_tags` that `envoy-config` generates, applied by the host's tag
/// extractor (Envoy's rules: the first capture group is removed from the
/// name, the second is the value).
@Suite("envoy-config stats_tags")
struct EnvoyStatsConfigTests {
    @Test func dimensionsNamedLikeTheEndOfAnotherLabelKeepTheirOwnValues() throws {
        let configuration = #"{"metrics": [{"dimensions": {"code": "'201'", "cluster": "'up'", "namespace": "'n'"}}]}"#
        let extractor = try TagExtractor(try EnvoyStatsConfig.tagRules(pluginConfigurations: [configuration]))
        let name =
            "wasmcustom.reporter=.=source;.;source_namespace=.=ns1;.;destination_cluster=.=c1;.;response_code=.=200;.;"
            + "cluster=.=up;.;code=.=201;.;namespace=.=n;.;istio_requests_total"
        let (extracted, tags) = extractor.extract(name)
        let values = Dictionary(uniqueKeysWithValues: tags)
        #expect(extracted == "wasmcustom.istio_requests_total")
        #expect(values["response_code"] == "200" && values["code"] == "201")
        #expect(values["destination_cluster"] == "c1" && values["cluster"] == "up")
        #expect(values["source_namespace"] == "ns1" && values["namespace"] == "n")
    }

    @Test func theFirstLabelAfterTheNamespaceIsFound() throws {
        let extractor = try TagExtractor(
            try EnvoyStatsConfig.tagRules(pluginConfigurations: [#"{"field_separator": ";;", "value_separator": "=="}"#]))
        let (extracted, tags) = extractor.extract("wasmcustom.reporter==source;;response_code==503;;istio_requests_total")
        #expect(extracted == "wasmcustom.istio_requests_total")
        #expect(tags.map(\.0) == ["reporter", "response_code"] && tags.map(\.1) == ["source", "503"])
    }

    /// Istio's annotation: the most specific key wins, `istiocustom` is the
    /// plugin's namespace, other keys are Envoy prefixes.
    @Test func annotationKeysSelectHistogramsByMetricName() throws {
        let rules = try EnvoyStatsConfig.histogramBuckets(
            annotation: #"""
                {"istiocustom": [3, 2], "istiocustom.istio_request_duration_milliseconds": [1, 5, 10],
                 "istiocustom.istio_request": [7], "cluster.xds-grpc": [9]}
                """#)
        let configuration = EnvoyStatsConfiguration(histogramBuckets: rules)
        let tags = "wasmcustom.reporter=.=source;.;request_operation=.=istio_request_duration_milliseconds;.;"
        #expect(configuration.buckets(for: tags + "istio_request_duration_milliseconds") == [1, 5, 10])
        #expect(configuration.buckets(for: tags + "istio_request_bytes") == [7])
        #expect(configuration.buckets(for: tags + "istio_response_bytes") == [2, 3])  // sorted, as Envoy does
        #expect(configuration.buckets(for: "wasmcustom.istio_request_duration_milliseconds") == [1, 5, 10])
        #expect(configuration.buckets(for: "cluster.xds-grpc.upstream_rq_time") == [9])
        #expect(configuration.buckets(for: "http.inbound.downstream_rq_time") == EnvoyStatsConfiguration.envoyDefaultBuckets)
        // A label value that names a metric does not select the histogram.
        #expect(configuration.buckets(for: "wasmcustom.x=.=istio_request_duration_milliseconds;.;istio_response_bytes") == [2, 3])
    }

    @Test func customSeparatorsReachTheMetricNameRegex() throws {
        let rules = try EnvoyStatsConfig.histogramBuckets(
            annotation: #"{"istiocustom.istio_request_bytes": [4]}"#,
            pluginConfigurations: [#"{"field_separator": "|;"}"#])
        let configuration = EnvoyStatsConfiguration(histogramBuckets: rules)
        #expect(configuration.buckets(for: "wasmcustom.reporter=.=source|;istio_request_bytes") == [4])
        #expect(configuration.buckets(for: "wasmcustom.reporter=.=source;.;istio_request_bytes") == EnvoyStatsConfiguration.envoyDefaultBuckets)
    }

    @Test(arguments: [
        (#"[1, 2]"#, "expected a JSON object"),
        (#"{"istiocustom": []}"#, "expected a non-empty list of bounds"),
        (#"{"istiocustom": 5}"#, "expected a non-empty list of bounds"),
        (#"{"istiocustom": [0]}"#, "every bound must be a number above 0"),
        (#"{"istiocustom": [-1]}"#, "every bound must be a number above 0"),
        (#"{"istiocustom": [true]}"#, "every bound must be a number above 0"),
        (#"{"istiocustom": ["5"]}"#, "every bound must be a number above 0"),
        (#"{"": [1]}"#, "a stat name prefix is empty"),
    ])
    func badAnnotationsAreRefusedWithAReason(_ annotation: String, _ reason: String) {
        #expect { try EnvoyStatsConfig.histogramBuckets(annotation: annotation) } throws: { error in
            (error as? EnvoyStatsConfig.Problem)?.message.contains(reason) == true
        }
    }

    /// envoy-config reads plugin configurations with the stats plugin's own
    /// parser: what the plugin refuses is refused with the plugin's reason,
    /// protobuf JSON's lenience it accepts is accepted, and dimensions come in
    /// the order the plugin applies them.
    @Test(arguments: [
        (#"{"metrics": [{"dimensions": {"a": 1}}]}"#, #"plugin configuration 1: field "metrics[0].dimensions.a" must be a string, found number"#),
        (#"{"metrics": [{"dimension": {"a": "request.host"}}]}"#, #"plugin configuration 1: unknown field "dimension" in metrics[0]"#),
        (#"{"field_separator": ""}"#, "plugin configuration 1: field_separator and value_separator must not be empty"),
        (#"[1]"#, "plugin configuration 1: expected a JSON object, found array"),
    ])
    func configurationsThePluginRefusesAreRefusedWithItsReason(_ configuration: String, _ message: String) {
        #expect { try EnvoyStatsConfig.tagRules(pluginConfigurations: [configuration]) } throws: { error in
            (error as? EnvoyStatsConfig.Problem)?.message == message
        }
    }

    @Test func dimensionsFollowThePluginsParse() throws {
        let configuration = #"""
            {"disable_host_header_fallback": "true", "max_label_sets": "50",
             "metrics": [{"name": "requests_total", "dimensions": {"zeta": "request.host", "alpha": "request.path"}}]}
            """#
        let rules = try EnvoyStatsConfig.tagRules(pluginConfigurations: ["", configuration])
        #expect(rules.map(\.name).suffix(4) == ["alpha", "zeta", "component", "tag"])
    }

    @Test func theStatsConfigCarriesEnvoysBucketSettingsInOrder() throws {
        let rules = try EnvoyStatsConfig.histogramBuckets(annotation: #"{"istiocustom": [2], "istiocustom.istio_request_bytes": [1]}"#)
        let config = try EnvoyStatsConfig.statsConfig(pluginConfigurations: [], bucketRules: rules)
        let settings = try #require(config["histogram_bucket_settings"] as? [[String: Any]])
        #expect(settings.count == 2)
        #expect((settings[0]["match"] as? [String: Any])?["safe_regex"] != nil && settings[0]["buckets"] as? [Double] == [1])
        #expect((settings[1]["match"] as? [String: String])?["prefix"] == "wasmcustom." && settings[1]["buckets"] as? [Double] == [2])
    }
}
