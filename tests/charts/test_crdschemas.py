"""CRD schemas converted from the CRDs the pinned charts ship (kubeconform's openapi2jsonschema), with the
shared folder as a fallback: the conversion reproduces the shared files, accepts the tree's custom resources
and rejects a bad one."""

from __future__ import annotations

import copy
import json
import re

import pytest

from plinth.charts.apis import builtin_api_versions
from plinth.charts.crdschemas import convert_schema, crd_schema_dir, hydrated_crds, python_pattern
from plinth.validate.schemas import SchemaStore
from tests.charts.conftest import needs_charts
from tests.conftest import CRD_DIR


def test_conversion_is_kubeconforms() -> None:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"port": {"format": "int-or-string", "x-kubernetes-int-or-string": True},
                                                  "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    converted = convert_schema(schema)
    assert "additionalProperties" not in converted  # the root stays open
    assert converted["properties"]["spec"]["additionalProperties"] is False
    assert converted["properties"]["spec"]["properties"]["port"] == {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert converted["properties"]["spec"]["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in converted["properties"]["status"]  # no properties: left open
    assert "additionalProperties" not in schema["properties"]["spec"]  # the input is not modified


@pytest.mark.parametrize(("upstream", "python"), [
    # The rewrites ../shared/schemas/crds/PROVENANCE.md lists, reproduced.
    ("^(?i)(abort|warn)?$", "^(?i:(abort|warn)?$)"),
    ("^((?i)sun|mon|tues|wednes|thurs|fri|satur)day(?:((:(sun|mon|tues|wednes|thurs|fri|satur)day)$)|$)",
     "^((?i:sun|mon|tues|wednes|thurs|fri|satur))day(?:((:(sun|mon|tues|wednes|thurs|fri|satur)day)$)|$)"),
    (r"^(\*|[A-Za-z][A-Za-z0-9+.-]*:\/\/(\*|(\*\.)?(([\w-]+\.?)+)?[\w-]+)(:\d{1,5})?)$",
     r"^(\*|[A-Za-z][A-Za-z0-9+.-]*:\/\/(\*|(\*\.)?[\w-]+(\.[\w-]+)*)(:\d{1,5})?)$"),
    ("(?i)^leading-flags-are-fine$", "(?i)^leading-flags-are-fine$"),
    (r"^[a-z]\(?i\)$", r"^[a-z]\(?i\)$"),
])
def test_patterns_become_python_regexes_of_the_same_language(upstream, python) -> None:
    assert python_pattern(upstream) == python
    re.compile(python)
    if upstream.startswith("^(?i)(abort"):
        assert re.search(python, "WARN") and not re.search(python, "warnx")


@pytest.fixture(scope="module")
def schema_dir(cold, tmp_path_factory, rendered):
    return crd_schema_dir(hydrated_crds(cold.objects) + hydrated_crds(rendered), tmp_path_factory.mktemp("crd-cache"),
                          CRD_DIR if CRD_DIR.is_dir() else None)


@needs_charts
def test_the_charts_are_the_source_of_their_crds(schema_dir) -> None:
    sources = json.loads((schema_dir / "SOURCES.json").read_text())["files"]
    assert sources["argoproj.io/application_v1alpha1.json"] == "argo-cd-9.5.4"
    assert sources["cert-manager.io/certificate_v1.json"] == "cert-manager-v1.21.1"
    assert sources["monitoring.coreos.com/servicemonitor_v1.json"] == "kube-prometheus-stack-88.2.0"
    assert sources["gateway.networking.k8s.io/httproute_v1.json"] == "gateway-helm-v1.9.0"
    assert len([s for s in sources.values() if not s.startswith("fallback ")]) >= 120
    if CRD_DIR.is_dir():
        # No chart serves AlertmanagerConfig v1beta1 (it needs the conversion webhook): the fallback does.
        assert sources["monitoring.coreos.com/alertmanagerconfig_v1beta1.json"].startswith("fallback ")
        # Where the chart ships the very CRD the fallback was made from, the conversion gives the same bytes.
        for name in ("cert-manager.io/certificate_v1.json", "velero.io/schedule_v1.json", "external-secrets.io/externalsecret_v1.json",
                     "postgresql.cnpg.io/cluster_v1.json", "keda.sh/triggerauthentication_v1alpha1.json",
                     "monitoring.coreos.com/prometheusrule_v1.json", "gateway.envoyproxy.io/securitypolicy_v1alpha1.json"):
            assert (schema_dir / name).read_bytes() == (CRD_DIR / name).read_bytes(), name


@needs_charts
def test_chart_crd_schemas_accept_the_trees_custom_resources_and_reject_a_bad_one(schema_dir, rendered, platforms) -> None:
    store = SchemaStore(platforms["prod"].cluster.kubernetes_version, schema_dir)
    builtin = set(builtin_api_versions(platforms["prod"].cluster.kubernetes_version))
    custom = [r for r in rendered if r.environment == "prod" and r.obj["apiVersion"] not in builtin]
    assert len(custom) > 50
    assert [str(p) for r in custom for p in store.check(r.obj, r.path)] == []
    certificate = next(r.obj for r in custom if r.obj["kind"] == "Certificate")
    bad = copy.deepcopy(certificate)
    bad["spec"]["dnsNamez"] = bad["spec"].pop("dnsNames")
    problems = store.check(bad, "bad.yaml")
    assert "spec.dnsNamez" in [p.field for p in problems]
