"""platform-system: Envoy Gateway, cert-manager, external-dns, External Secrets, KEDA, Argo Rollouts,
and the network baseline of all four namespaces."""

from __future__ import annotations

import pytest

from plinth.components import (
    app_services,
    argo_rollouts,
    cert_manager,
    envoy_gateway,
    external_dns,
    external_secrets,
    internal_pki,
    kafka,
    keda,
)
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.flows import API_SERVER, Pods
from plinth.kube.objects import get
from plinth.render import network
from plinth.render.pipeline import render_platform
from plinth.spec.loader import SpecError, load_all
from tests.conftest import DEFAULT_SPEC, chart_pods, spec_with


def _by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _applications(platform):
    return {r.obj["metadata"]["name"]: r.obj for r in render_platform(platform) if r.obj["kind"] == "Application"}


def test_every_controller_is_a_pinned_chart_application(platforms) -> None:
    releases = {"envoy-gateway": "gateway-helm", "cert-manager": "cert-manager", "external-dns": "external-dns",
                "external-secrets": "external-secrets", "keda": "keda", "argo-rollouts": "argo-rollouts"}
    for platform in platforms.values():
        apps = _applications(platform)
        for release, chart in releases.items():
            source = apps[release]["spec"]["source"]
            assert source["chart"] == chart
            assert source["targetRevision"] == platform.charts[release].version
            assert apps[release]["spec"]["destination"]["namespace"] == "platform-system"
    assert _applications(platforms["prod"])["envoy-gateway"]["spec"]["source"]["repoURL"] == "docker.io/envoyproxy"


def test_app_versions_are_what_the_charts_run(prod) -> None:
    """Each typed app_version is the chart's appVersion (charts.lock.yaml, read from the chart archives) or the
    tag of an image the chart's objects run (values that override the chart's default image)."""
    from plinth.charts.lock import LOCK_FILE, read_lock

    locked = read_lock(DEFAULT_SPEC.parent / LOCK_FILE)["charts"]
    for key, pin in prod.charts.items():
        entry = locked[key]
        assert (entry["chart"], entry["version"]) == (pin.chart, pin.version), key
        tags = {image.rsplit("@", 1)[0].rsplit(":", 1)[-1] for image in entry["images"]}
        assert pin.app_version.removeprefix("v") == str(entry["app_version"]).removeprefix("v") or pin.app_version in tags, key


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_gateway_has_https_listeners_for_every_public_host(platforms, env) -> None:
    platform = platforms[env]
    objs = envoy_gateway.objects(platform)
    gateway = _by_kind(objs, "Gateway")["public"]["spec"]
    hosts = {f"{s.public_host}.{platform.edge.domain}" for s in platform.services.values() if s.public_host}
    https = [l for l in gateway["listeners"] if l["protocol"] == "HTTPS"]
    assert {l["hostname"] for l in https} == hosts
    assert all(l["tls"]["certificateRefs"] == [{"kind": "Secret", "name": envoy_gateway.TLS_SECRET}] for l in https)
    assert [l["port"] for l in gateway["listeners"] if l["protocol"] == "HTTP"] == [80]
    assert gateway["gatewayClassName"] == "envoy"
    gateway_class = _by_kind(objs, "GatewayClass")["envoy"]["spec"]
    assert gateway_class["parametersRef"]["name"] == envoy_gateway.ENVOY_PROXY_NAME


def test_envoy_proxy_replicas_spread_pdb_and_metrics(prod, tmp_path) -> None:
    proxy = _by_kind(envoy_gateway.objects(prod), "EnvoyProxy")[envoy_gateway.ENVOY_PROXY_NAME]["spec"]
    deployment = proxy["provider"]["kubernetes"]["envoyDeployment"]
    assert deployment["replicas"] == prod.edge.gateway_replicas >= 3
    zone = next(c for c in deployment["pod"]["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["labelSelector"]["matchLabels"] == envoy_gateway.PROXY_POD_LABELS
    assert proxy["provider"]["kubernetes"]["envoyPDB"] == {"maxUnavailable": 1}
    assert proxy["telemetry"]["metrics"]["prometheus"] == {"disable": False}
    platforms = load_all(spec_with(tmp_path, [("edge.gateway_replicas", 5)]))
    assert _by_kind(envoy_gateway.objects(platforms["prod"]), "EnvoyProxy")[envoy_gateway.ENVOY_PROXY_NAME][
        "spec"]["provider"]["kubernetes"]["envoyDeployment"]["replicas"] == 5


def test_cert_manager_issuers_ca_chain_and_gateway_certificate(platforms) -> None:
    for env, platform in platforms.items():
        objs = cert_manager.objects(platform) + internal_pki.objects(platform)
        issuers = _by_kind(objs, "ClusterIssuer")
        assert issuers["letsencrypt-staging"]["spec"]["acme"]["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
        assert issuers["letsencrypt-production"]["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
        solver = issuers["letsencrypt-production"]["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]
        assert solver["parentRefs"][0]["name"] == "public"
        assert issuers["selfsigned-root"]["spec"] == {"selfSigned": {}}
        certs = _by_kind(objs, "Certificate")
        ca = certs["platform-internal-ca"]["spec"]
        assert ca["isCA"] is True and ca["issuerRef"]["name"] == "selfsigned-root"
        assert issuers["platform-internal-ca"]["spec"] == {"ca": {"secretName": ca["secretName"]}}
        public = certs[envoy_gateway.TLS_SECRET]["spec"]
        assert public["issuerRef"]["name"] == platform.edge.acme_issuer
        assert sorted(public["dnsNames"]) == sorted(envoy_gateway.public_hosts(platform).values())
    assert platforms["staging"].edge.acme_issuer == "letsencrypt-staging"
    assert internal_pki.COMPONENT.sync_wave < min(c.sync_wave for c in (kafka.COMPONENT, app_services.COMPONENT)), \
        "the internal CA is synced before the stores and services it issues certificates to"


def test_external_dns_points_at_the_spec_zone_and_provider(platforms, tmp_path) -> None:
    values = external_dns.values(platforms["staging"])
    assert values["provider"] == {"name": "aws"}
    assert values["domainFilters"] == ["staging.plinth.example.com"]
    # With a CDN the public hosts point at the CDN (the cloud layer's records): external-dns publishes the origin only.
    assert values["sources"] == ["service"]
    assert values["txtOwnerId"] == "plinth-staging"
    gcp = load_all(spec_with(tmp_path, [("cluster.provider", "gcp"), ("secrets.gcp_project_id", "plinth-prod"),
                                        ("cluster.account", "plinth-prod")]))
    assert external_dns.values(gcp["prod"])["provider"] == {"name": "google"}


@pytest.mark.parametrize(("provider", "extra", "key"), [
    ("aws", [], "aws"),
    ("gcp", [("secrets.gcp_project_id", "plinth-prod"), ("cluster.account", "plinth-prod")], "gcpsm"),
    ("azure", [("secrets.azure_key_vault_url", "https://plinth-kv.vault.azure.net/"),
               ("cluster.account", "00000000-0000-0000-0000-000000000001")], "azurekv"),
])
def test_cluster_secret_store_uses_the_cloud_secret_manager(tmp_path, provider, extra, key) -> None:
    platform = load_all(spec_with(tmp_path, [("cluster.provider", provider), *extra]))["prod"]
    stores = {s["metadata"]["name"]: s for s in external_secrets.secret_stores(platform)}
    assert set(stores) == {"secrets-identities", *(f"secrets-{ns}" for ns in platform.namespaces)}
    for name, store in stores.items():
        assert store["kind"] == "ClusterSecretStore" and list(store["spec"]["provider"]) == [key]
        namespaces = store["spec"]["conditions"][0]["namespaces"]
        assert namespaces == (["platform-apps", "platform-data"] if name == "secrets-identities" else [name.removeprefix("secrets-")])
        # AWS Secrets Manager confines the store to its subtree itself; the other providers have no prefix.
        assert store["spec"]["provider"][key].get("prefix") == (f"plinth/prod/{name.removeprefix('secrets-')}/" if provider == "aws" else None)


def test_gcp_without_a_project_is_a_located_error(tmp_path) -> None:
    with pytest.raises(SpecError) as err:
        load_all(spec_with(tmp_path, [("cluster.provider", "gcp"), ("cluster.account", "plinth-prod")]))
    assert "secrets.gcp_project_id: needed when cluster.provider is gcp" in str(err.value)


def test_keda_and_rollouts_values(prod) -> None:
    values = keda.values(prod)
    assert values["podLabels"]["keda"] == {"plinth.dev/uses-kafka": "true"}
    assert values["prometheus"]["operator"]["serviceMonitor"]["enabled"] is True
    rollouts = argo_rollouts.argo_rollouts_values(prod)
    assert rollouts["controller"]["replicas"] == argo_rollouts.REPLICAS
    assert rollouts["controller"]["metrics"]["enabled"] is True


def test_chart_pods_run_the_numbers_the_values_set(prod, hydration) -> None:
    """The controllers' hydrated pods request and replicate what each component's table sets in the values."""
    def pods(application):
        return {name: (g.cpu_millicores, g.memory_mib, g.replicas_min) for name, g in chart_pods(hydration, "prod", application).items()}

    cm = pods("cert-manager")
    for part, workload in (("controller", "cert-manager"), ("webhook", "cert-manager-webhook"), ("cainjector", "cert-manager-cainjector")):
        assert cm[f"Deployment/{workload}"] == (*cert_manager.POD_REQUESTS[part], cert_manager.REPLICAS[part]), part
    kd = pods("keda")
    for part, workload in (("operator", "keda-operator"), ("metricServer", "keda-operator-metrics-apiserver"),
                           ("webhooks", "keda-admission-webhooks")):
        assert kd[f"Deployment/{workload}"] == (*keda.POD_REQUESTS[part], keda.REPLICAS[part]), part
    assert pods("envoy-gateway")["Deployment/envoy-gateway"] == (*envoy_gateway.POD_REQUESTS["controller"], envoy_gateway.CONTROLLER_REPLICAS)
    es = pods("external-secrets")
    for part, workload in (("controller", "external-secrets"), ("webhook", "external-secrets-webhook"),
                           ("certController", "external-secrets-cert-controller")):
        assert es[f"Deployment/{workload}"] == (*external_secrets.POD_REQUESTS[part], external_secrets.REPLICAS[part]), part
    assert pods("external-dns")["Deployment/external-dns"] == (*external_dns.POD_REQUESTS, external_dns.REPLICAS)
    assert pods("argo-rollouts")["Deployment/argo-rollouts"] == (*argo_rollouts.POD_REQUESTS, argo_rollouts.REPLICAS)


def _policies(platform):
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in network.network_policies(platform, ALL_COMPONENTS)}


def test_every_namespace_denies_by_default_and_allows_dns(prod) -> None:
    policies = _policies(prod)
    for namespace in prod.namespaces:
        assert policies[(namespace, "default-deny")]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        everyone = policies[(namespace, "allow-all-pods")]["spec"]
        assert everyone["podSelector"] == {}
        dns = [r for r in everyone["egress"] if r["to"][0].get("podSelector") == {"matchLabels": {"k8s-app": "kube-dns"}}]
        assert dns and dns[0]["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        assert {(p["protocol"], p["port"]) for p in dns[0]["ports"]} == {("TCP", 53), ("UDP", 53)}


def test_gateway_flows_reach_only_public_services(prod) -> None:
    policy = _policies(prod)[(envoy_gateway.NAMESPACE, "allow-public")]["spec"]
    assert policy["podSelector"] == {"matchLabels": envoy_gateway.PROXY_POD_LABELS}
    (clients,) = [r for r in policy["ingress"] if "ipBlock" in r["from"][0]]
    assert clients["from"][0]["ipBlock"]["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in clients["from"][0]["ipBlock"]["except"]
    assert [p["port"] for p in clients["ports"]] == list(envoy_gateway.PROXY_CONTAINER_PORTS)
    reached = {r["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/name") for r in policy["egress"]
               if r["to"][0].get("namespaceSelector")}
    assert reached == {n for n, s in prod.services.items() if s.public_host}


def test_every_platform_system_release_declares_its_api_server_flow(prod) -> None:
    for module in (envoy_gateway, cert_manager, external_dns, external_secrets, keda, argo_rollouts):
        flows = module.COMPONENT.flows(prod)
        assert any(f.destination == API_SERVER and isinstance(f.source, Pods) for f in flows), module.__name__


def test_panels_parse_and_target_spec_dashboards(prod) -> None:
    from plinth.components import app_services
    from plinth.monitoring.promtool import check_expressions, promtool_path

    panels = [p for m in (app_services, cert_manager, external_secrets, keda) for p in m.panels(prod)]
    dashboards = {d.uid for d in prod.observability.dashboards}
    assert {p.dashboard_uid for p in panels} == {"service-performance", "platform-health", "user-activity"} <= dashboards
    if promtool_path() is None:
        pytest.skip("promtool missing: `make test` installs Debian's prometheus package")
    from plinth.monitoring.promql import expand_grafana_variables

    result = check_expressions([expand_grafana_variables(q, {"service": "auth"}) for p in panels for q in p.queries])
    assert result.ok, result.output


def test_policies_sync_with_the_default_deny_and_before_the_workloads(prod) -> None:
    """Every NetworkPolicy (default-deny and allows) is in one Application whose wave comes after the namespaces and
    before every workload except Argo CD's own (which the bootstrap installs before any policy exists). The
    StorageClasses, the host-access admission policies and kube-prometheus-stack's CRDs alone run no pods and may come earlier (PL-NET-004 checks the
    order over the hydrated charts' real pods)."""
    apps = _applications(prod)
    rendered = [r for r in render_platform(prod) if r.obj["kind"] == "NetworkPolicy"]
    assert {r.component for r in rendered} == {network.NAME}
    wave = int(apps[network.NAME]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    podless = {"namespaces", "storage-classes", "prometheus-operator-crds", "platform-root", "host-access"}
    assert {r.obj["kind"] for r in render_platform(prod) if r.component == "storage-classes"} == {"StorageClass"}
    assert {r.obj["kind"] for r in render_platform(prod) if r.component == "host-access"} == {
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    assert get(apps["prometheus-operator-crds"], "spec.source.helm.valuesObject.prometheusOperator.enabled") is False
    later = {name: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for name, a in apps.items()
             if name not in (network.NAME, "argocd", *podless)}
    assert wave == network.SYNC_WAVE and all(w > wave for w in later.values()), later
