"""The plain server-side apply: CRDs first, each object's outcome, the API server's exact errors."""

from __future__ import annotations

import pytest

from plinth.render.pipeline import render_platform
from plinth.sim.apply import APPLIED, NO_CRD, REJECTED, apply_objects, object_key
from plinth.spec.model import Platform

pytestmark = pytest.mark.sim

CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1", "autoscaling/v2", "rbac.authorization.k8s.io/v1",
               "storage.k8s.io/v1", "admissionregistration.k8s.io/v1"}


def test_the_rendered_tree_is_applied_object_by_object(sim_cluster, platforms: dict[str, Platform]) -> None:
    objects = [r.obj for r in render_platform(platforms["staging"])]
    report = apply_objects(sim_cluster, objects)
    assert sorted(r.key for r in report.results) == sorted(object_key(o) for o in objects)
    rejected = [f"{r.key}: {r.message}" for r in report.results if r.status == REJECTED]
    assert rejected == []
    status = {r.key: r.status for r in report.results}
    for obj in objects:
        expected = APPLIED if obj["apiVersion"] in CORE_GROUPS else NO_CRD  # chart CRDs are not installed here
        assert status[object_key(obj)] == expected, object_key(obj)
    quotas = sim_cluster.get_json("resourcequota", "-A")["items"]
    assert {q["metadata"]["namespace"] for q in quotas} >= {o["metadata"]["namespace"] for o in objects if o["kind"] == "ResourceQuota"}


def test_crds_are_established_before_their_resources_and_errors_are_the_api_servers(sim_cluster) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.plinth.dev"},
        "spec": {"group": "test.plinth.dev", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer", "maximum": 10}}}}}}}]},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apply-errors"}}
    widget = {"apiVersion": "test.plinth.dev/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "apply-errors"}, "spec": {"size": 3}}
    too_big = {"apiVersion": "test.plinth.dev/v1", "kind": "Widget", "metadata": {"name": "big", "namespace": "apply-errors"}, "spec": {"size": 11}}
    two_ports = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "two-ports", "namespace": "apply-errors"},
                 "spec": {"selector": {"app": "x"}, "ports": [{"name": "a", "port": 9090}, {"name": "b", "port": 9090}]}}
    long_name = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s" * 70, "namespace": "apply-errors"},
                 "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
    unknown = {"apiVersion": "nothing.plinth.dev/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "apply-errors"}}
    report = apply_objects(sim_cluster, [widget, too_big, two_ports, long_name, unknown, namespace, crd])
    outcome = {r.key: r for r in report.results}
    assert outcome["CustomResourceDefinition/widgets.test.plinth.dev"].status == APPLIED
    assert outcome["Widget/apply-errors/w"].status == APPLIED
    assert outcome["Widget/apply-errors/big"].status == REJECTED
    assert "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10" in outcome["Widget/apply-errors/big"].message
    assert outcome["Service/apply-errors/two-ports"].status == REJECTED
    assert '.spec.ports: duplicate entries for key [port=9090,protocol="TCP"]' in outcome["Service/apply-errors/two-ports"].message
    assert outcome[f"Service/apply-errors/{'s' * 70}"].status == REJECTED
    assert "must be no more than 63 characters" in outcome[f"Service/apply-errors/{'s' * 70}"].message
    assert outcome["Gadget/apply-errors/g"].status == NO_CRD

