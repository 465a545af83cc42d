"""The stats plugin's `reporter` setting in real Envoys: a waypoint between two sidecars reports its
downstream and upstream peers as Istio's own waypoint test expects, and an egress gateway between
a client sidecar and an external service reports that service, with the expected series on each
hop. Every hop runs the real metadata_exchange.wasm and stats.wasm."""

from __future__ import annotations

import harness
import mesh

ROOT = mesh.ROOT
WAYPOINT_EXPECTED = ROOT / "Tests/Fixtures/istio/proxy-master-86a72d0/metric/server_waypoint_proxy_request_total.yaml.tmpl"

# Istio's waypoint test destination (`BackendMetadata` in istio/proxy's stats_test.go) as node
# metadata of the server sidecar; app and version as Istio derives them.
BACKEND_NODE = {"id": "server", "cluster": "server", "metadata": {
    "NAMESPACE": "default", "WORKLOAD_NAME": "ratings-v1", "CLUSTER_ID": "ratings-cluster",
    "LABELS": {"app": "ratings", "version": "version-1", "service.istio.io/canonical-name": "ratings",
               "service.istio.io/canonical-revision": "version-1"}}}


def requests_total(envoy: harness.Envoy) -> list[dict[str, str]]:
    return [dict(labels) for (name, labels) in envoy.prometheus() if name == "istio_requests_total"]


def proxy(name: str, node: dict, direction: str, port: int, cluster: dict, root_id: str, configuration: str) -> harness.Envoy:
    """One proxy with both plugins on a plaintext HTTP listener towards `cluster`."""
    config = harness.bootstrap(
        admin_port=harness.free_port(), node=node, stats_config=harness.generated_stats_config(),
        listeners=[harness.http_listener(f"{name}_listener", port, cluster["name"],
                                         mesh.filters(root_id, configuration), direction=direction)],
        clusters=[cluster])
    return harness.Envoy(config, name=name)


def cluster(name: str, port: int, services: dict) -> dict:
    result = harness.static_cluster(name, port)
    result["metadata"] = {"filter_metadata": services}
    return result


def expected_waypoint_labels() -> dict[str, str]:
    """Istio's expected waypoint series, rendered for plain HTTP."""
    labels: dict[str, str] = {}
    pending = None
    for line in WAYPOINT_EXPECTED.read_text().splitlines():
        text = line.strip()
        if text.startswith("- name: "):
            pending = text[len("- name: "):]
        elif text.startswith("value: ") and pending:
            value = text[len("value: "):].strip('"')
            labels[pending] = "" if value.startswith("{{") else value
            pending = None
    # The template's branch for gRPC and its variables, rendered for HTTP.
    labels["request_protocol"] = "http"
    labels["grpc_response_status"] = ""
    return labels


def test_a_waypoint_reports_both_peers_as_istios_waypoint_test_expects():
    services = mesh.SERVICES
    client_port, waypoint_port, server_port = harness.free_port(), harness.free_port(), harness.free_port()
    waypoint_node = {"id": "waypoint", "cluster": "waypoint", "metadata": {"NAMESPACE": "default", "WORKLOAD_NAME": "waypoint"}}
    with harness.UpstreamApp() as app, \
            proxy("server", BACKEND_NODE, "INBOUND", server_port, harness.static_cluster("app", app.port),
                  "stats_inbound", "{}") as server, \
            proxy("waypoint", waypoint_node, "OUTBOUND", waypoint_port, cluster("server", server_port, services),
                  "stats_inbound", '{"reporter": "SERVER_GATEWAY"}') as waypoint, \
            proxy("client", mesh.node("client"), "OUTBOUND", client_port, cluster("waypoint", waypoint_port, services),
                  "stats_outbound", "{}") as client:
        for _ in range(10):
            assert harness.http_get(client_port, "/", headers={"Host": "server"})[0] == 200
        [at_waypoint] = requests_total(waypoint)
        [at_client] = requests_total(client)
        [at_server] = requests_total(server)
        totals = [value for (name, _), value in waypoint.prometheus().items() if name == "istio_requests_total"]
    expected = expected_waypoint_labels()
    # Istio's test reads the destination's identity from peer metadata; here it comes from the
    # upstream certificate, and this hop is plaintext.
    assert at_waypoint.pop("destination_principal") == "unknown"
    del expected["destination_principal"]
    assert at_waypoint == expected
    assert totals == [10]
    # The waypoint does not hand the server's identity back to the client; the server sees the
    # waypoint as its peer.
    assert at_client["reporter"] == "source" and at_client["destination_workload"] == "unknown"
    assert at_server["reporter"] == "destination" and at_server["source_workload"] == "waypoint"


def test_a_client_sidecar_through_an_egress_gateway_to_an_external_service():
    """The gateway reports as the source (itself) towards the service entry its cluster names, in
    that entry's namespace; the client's Host header does not name a service there; the client
    sidecar reports the gateway service and sees no peer behind it."""
    gateway_services = {"istio": {"services": [{"host": "istio-egressgateway.istio-system.svc.cluster.local",
                                                "name": "istio-egressgateway", "namespace": "istio-system"}]}}
    external = {"istio": {"services": [{"host": "api.example.com", "name": "api.example.com", "namespace": "egress"}]}}
    gateway_node = {"id": "egress", "cluster": "egress", "metadata": {
        "NAMESPACE": "istio-system", "WORKLOAD_NAME": "istio-egressgateway",
        "LABELS": {"app": "istio-egressgateway", "istio": "egressgateway"}}}
    client_port, gateway_port = harness.free_port(), harness.free_port()
    with harness.UpstreamApp() as external_service, \
            proxy("egress", gateway_node, "OUTBOUND", gateway_port,
                  cluster("outbound|80||api.example.com", external_service.port, external),
                  "stats_outbound", '{"reporter": "GATEWAY"}') as gateway, \
            proxy("client", mesh.node("client"), "OUTBOUND", client_port,
                  cluster("outbound|80||istio-egressgateway.istio-system.svc.cluster.local", gateway_port, gateway_services),
                  "stats_outbound", "{}") as client:
        for _ in range(3):
            assert harness.http_get(client_port, "/", headers={"Host": "api.example.com"})[0] == 200
        [at_gateway] = requests_total(gateway)
        [at_client] = requests_total(client)
        totals = [value for (name, _), value in gateway.prometheus().items() if name == "istio_requests_total"]
    assert totals == [3]
    assert at_gateway["reporter"] == "source"
    assert at_gateway["source_workload"] == "istio-egressgateway" and at_gateway["source_workload_namespace"] == "istio-system"
    assert at_gateway["source_app"] == "istio-egressgateway"
    assert at_gateway["destination_service"] == "api.example.com" and at_gateway["destination_service_name"] == "api.example.com"
    assert at_gateway["destination_service_namespace"] == "egress"
    assert at_gateway["destination_workload"] == "unknown" and at_gateway["destination_workload_namespace"] == "unknown"
    assert at_client["source_workload"] == "productpage-v1" and at_client["reporter"] == "source"
    assert at_client["destination_service_name"] == "istio-egressgateway"
    assert at_client["destination_service_namespace"] == "istio-system"
    assert at_client["destination_workload"] == "unknown"


def test_a_gateway_does_not_take_the_host_header_as_a_destination():
    """Without a cluster service, a gateway's client controls the Host header: Istio turns the
    fallback off for gateways, and so does `reporter: GATEWAY` unless told otherwise."""
    gateway_port = harness.free_port()
    gateway_node = {"id": "ingress", "cluster": "ingress", "metadata": {"NAMESPACE": "istio-system",
                                                                         "WORKLOAD_NAME": "istio-ingressgateway"}}
    with harness.UpstreamApp() as app, \
            proxy("ingress", gateway_node, "OUTBOUND", gateway_port, harness.static_cluster("app", app.port),
                  "stats_outbound", '{"reporter": "GATEWAY"}') as gateway:
        assert harness.http_get(gateway_port, "/", headers={"Host": "attacker.example"})[0] == 200
        [labels] = requests_total(gateway)
    assert labels["destination_service"] == "unknown" and labels["reporter"] == "source"
