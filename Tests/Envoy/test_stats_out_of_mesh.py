"""Requests without metadata exchange (out of the mesh, failed before a peer answered) get every
label the sidecar knows, in a real Envoy: the destination service namespace from the cluster's
`istio.services` metadata on a 503 UH, the source namespace from the client certificate's SPIFFE
id on an inbound mTLS request without exchange headers, and the destination workload from the
endpoint's `istio.workload` metadata."""

from __future__ import annotations

import http.client
import ssl

import certs
import harness
import mesh

SHOP = {"istio": {"services": [{"host": "cart.shop.svc.cluster.local", "name": "cart", "namespace": "shop"}]}}


def requests_total(envoy: harness.Envoy) -> list[dict[str, str]]:
    return [dict(labels) for (name, labels) in envoy.prometheus() if name == "istio_requests_total"]


def client_sidecar(cluster: dict) -> tuple[int, dict]:
    """The client sidecar of mesh.py (metadata_exchange + stats_outbound) towards `cluster`."""
    port = harness.free_port()
    config = harness.bootstrap(
        admin_port=harness.free_port(), node=mesh.node("client"), stats_config=harness.generated_stats_config(),
        listeners=[harness.http_listener("client_listener", port, cluster["name"],
                                         mesh.filters("stats_outbound", "{}"), direction="OUTBOUND")],
        clusters=[cluster])
    return port, config


def test_a_503_without_upstream_names_the_service_namespace_from_the_cluster():
    cluster = harness.static_cluster("cart", harness.free_port())
    cluster["load_assignment"]["endpoints"] = []  # no healthy upstream: 503 UH
    cluster["metadata"] = {"filter_metadata": SHOP}
    port, config = client_sidecar(cluster)
    with harness.Envoy(config, name="client") as envoy:
        assert harness.http_get(port, "/")[0] == 503
        [labels] = requests_total(envoy)
    assert labels["response_code"] == "503" and labels["response_flags"] == "UH"
    assert labels["destination_service_namespace"] == "shop"
    assert labels["destination_service_name"] == "cart" and labels["destination_service"] == "cart.shop.svc.cluster.local"
    assert labels["destination_workload"] == "unknown" and labels["destination_workload_namespace"] == "unknown"


def test_the_endpoint_metadata_names_a_destination_without_exchange():
    """istiod's `istio.workload` endpoint metadata (`workload;namespace;canonical service;canonical
    revision;cluster`) labels a destination that sent no exchange headers."""
    with harness.UpstreamApp() as app:
        cluster = harness.static_cluster("cart", app.port)
        cluster["metadata"] = {"filter_metadata": SHOP}
        cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["metadata"] = {
            "filter_metadata": {"istio": {"workload": "cart-v2;shop;cart;v2;east"}}}
        port, config = client_sidecar(cluster)
        with harness.Envoy(config, name="client") as envoy:
            assert harness.http_get(port, "/")[0] == 200
            [labels] = requests_total(envoy)
    assert labels["destination_workload"] == "cart-v2" and labels["destination_workload_namespace"] == "shop"
    assert labels["destination_canonical_service"] == "cart" and labels["destination_canonical_revision"] == "v2"
    assert labels["destination_cluster"] == "east" and labels["destination_service_namespace"] == "shop"
    assert labels["destination_app"] == "unknown" and labels["destination_version"] == "unknown"


def test_an_inbound_mtls_request_without_exchange_takes_the_namespace_from_the_certificate(tmp_path):
    paths = certs.make_mesh_certificates(tmp_path, ["server", "web"], namespaces={"web": "frontend"})
    port = harness.free_port()
    with harness.UpstreamApp() as app:
        listener = harness.http_listener("server_listener", port, "app", mesh.filters("stats_inbound", "{}"),
                                         direction="INBOUND")
        listener["filter_chains"][0]["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": True,
            "common_tls_context": {
                "tls_certificates": [{"certificate_chain": {"filename": str(paths["server"]["cert"])},
                                      "private_key": {"filename": str(paths["server"]["key"])}}],
                "validation_context": {"trusted_ca": {"filename": str(paths["server"]["ca"])}}}}}
        config = harness.bootstrap(admin_port=harness.free_port(), node=mesh.node("server"),
                                   stats_config=harness.generated_stats_config(), listeners=[listener],
                                   clusters=[harness.static_cluster("app", app.port)])
        with harness.Envoy(config, name="server") as envoy:
            context = ssl.create_default_context(cafile=str(paths["web"]["ca"]))
            context.check_hostname = False
            context.load_cert_chain(str(paths["web"]["cert"]), str(paths["web"]["key"]))
            connection = http.client.HTTPSConnection(harness.LOOPBACK, port, context=context, timeout=10)
            connection.request("GET", "/")
            assert connection.getresponse().status == 200
            connection.close()
            [labels] = requests_total(envoy)
    assert labels["source_principal"] == "spiffe://cluster.local/ns/frontend/sa/web"
    assert labels["source_workload_namespace"] == "frontend" and labels["source_workload"] == "unknown"
    assert labels["connection_security_policy"] == "mutual_tls"
    assert labels["destination_workload"] == "ratings-v1"


def test_passthrough_and_blackhole_traffic_is_named_as_istio_names_it():
    """Istio's outbound catch-alls, as istiod configures them: route `allow_any` to
    PassthroughCluster, route `block_all` answering 502 itself. stats reads the route and cluster
    names Envoy gives it and labels the destination service PassthroughCluster / BlackHoleCluster,
    with the Host header as destination_service."""
    with harness.UpstreamApp() as app:
        port, config = client_sidecar(harness.static_cluster("PassthroughCluster", app.port))
        hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["route_config"] = {"name": "outbound_catch_alls", "virtual_hosts": [
            {"name": "allow_any", "domains": ["passthrough.example"],
             "routes": [{"name": "allow_any", "match": {"prefix": "/"}, "route": {"cluster": "PassthroughCluster"}}]},
            {"name": "block_all", "domains": ["*"],
             "routes": [{"name": "block_all", "match": {"prefix": "/"}, "direct_response": {"status": 502}}]},
        ]}
        with harness.Envoy(config, name="client") as envoy:
            assert harness.http_get(port, "/", headers={"Host": "passthrough.example"})[0] == 200
            assert harness.http_get(port, "/", headers={"Host": "blocked.example"})[0] == 502
            series = {labels["destination_service_name"]: labels for labels in requests_total(envoy)}
    assert set(series) == {"PassthroughCluster", "BlackHoleCluster"}
    assert series["PassthroughCluster"]["destination_service"] == "passthrough.example"
    assert series["PassthroughCluster"]["response_code"] == "200"
    assert series["BlackHoleCluster"]["destination_service"] == "blocked.example"
    assert series["BlackHoleCluster"]["response_code"] == "502"
