import ProxyWasmHost
import ProxyWasmTools
import Testing

/// The `stats_tags` that `envoy-config` generates, applied by the host's tag
/// extractor (Envoy's rules: the first capture group is removed from the
/// name, the second is the value).
@Suite("envoy-config stats_tags")
struct EnvoyStatsConfigTests {
    @Test func dimensionsNamedLikeTheEndOfAnotherLabelKeepTheirOwnValues() throws {
        let configuration = #"{"metrics": [{"dimensions": {"code": "'201'", "cluster": "'up'", "namespace": "'n'"}}]}"#
        let extractor = try TagExtractor(try EnvoyStatsConfig.tagRules(pluginConfigurations: [configuration]))
        let name = "wasmcustom.reporter=.=source;.;source_namespace=.=ns1;.;destination_cluster=.=c1;.;response_code=.=200;.;"
            + "cluster=.=up;.;code=.=201;.;namespace=.=n;.;istio_requests_total"
        let (extracted, tags) = extractor.extract(name)
        let values = Dictionary(uniqueKeysWithValues: tags)
        #expect(extracted == "wasmcustom.istio_requests_total")
        #expect(values["response_code"] == "200" && values["code"] == "201")
        #expect(values["destination_cluster"] == "c1" && values["cluster"] == "up")
        #expect(values["source_namespace"] == "ns1" && values["namespace"] == "n")
    }

    @Test func theFirstLabelAfterTheNamespaceIsFound() throws {
        let extractor = try TagExtractor(try EnvoyStatsConfig.tagRules(pluginConfigurations: [#"{"field_separator": ";;", "value_separator": "=="}"#]))
        let (extracted, tags) = extractor.extract("wasmcustom.reporter==source;;response_code==503;;istio_requests_total")
        #expect(extracted == "wasmcustom.istio_requests_total")
        #expect(tags.map(\.0) == ["reporter", "response_code"] && tags.map(\.1) == ["source", "503"])
    }
}
