"""No Secret object and no secret value anywhere in the rendered tree: credentials arrive as
ExternalSecrets from the ClusterSecretStore, and workloads mount the Secrets they create."""

from __future__ import annotations

import re

from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO

SECRETISH_NAME = re.compile(r"(password|passwd|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|credential)", re.I)
FILE_SUFFIXES = ("_DIR", "_PATH", "_FILE")
"""Env vars naming where credentials are mounted, not holding them."""
SECRET_REFERENCE = re.compile(r"^(existingSecret|.*[sS]ecretName|.*[sS]ecretRef|secrets\[\d+\]|passwordKey|userKey|usernameKey|.*_file)$")
"""Helm values naming the Secret an ExternalSecret creates (or a key in it), or the mounted file a program reads a
credential from (Alertmanager's ``credentials_file``), not holding its value."""
SECRET_KEY_NAMES = re.compile(r"\.secret\.[A-Za-z]+$")
"""Helm values inside a ``secret:`` block name the Secret and the keys in it (Polaris' persistence.relationalJdbc.secret)."""
PEM = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")


def _walk(value, path=""):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")
    else:
        yield path, value


def _rendered():
    return render_all(load_all(DEFAULT_SPEC)) + render_all(load_all(REPO / "examples" / "extra-service.yaml"))


def secret_problems(items: list[tuple[str, dict]]) -> list[str]:
    """Every Secret object, PEM block, literal credential env var or credential-like Helm value in ``items``."""
    problems = []
    for where, obj in items:
        if obj["kind"] == "Secret":
            problems.append(f"{where}: a Secret object")
        leaves = dict(_walk(obj))
        for path, value in leaves.items():
            if isinstance(value, str) and PEM.search(value):
                problems.append(f"{where}: {path} holds a PEM block")
            env_name = str(leaves.get(path[:-len(".value")] + ".name", ""))
            if ".env[" in path and path.endswith(".value") and SECRETISH_NAME.search(env_name) and not env_name.endswith(FILE_SUFFIXES):
                problems.append(f"{where}: {path} sets a credential as a literal env value")
        if obj["kind"] == "Application":
            values = obj["spec"].get("source", {}).get("helm", {}).get("valuesObject", {})
            for path, value in _walk(values):
                key = path.rsplit(".", 1)[-1]
                if (SECRETISH_NAME.search(key) and not SECRET_REFERENCE.match(key) and not SECRET_KEY_NAMES.search(path)
                        and isinstance(value, str) and value):
                    problems.append(f"{where}: helm value {path} looks like a credential")
    return problems


def test_no_secret_objects_or_values_anywhere() -> None:
    rendered = _rendered()
    assert len(rendered) > 200
    assert secret_problems([(r.path, r.obj) for r in rendered]) == []


def test_the_check_catches_planted_secrets() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"tls.key": "-----BEGIN PRIVATE KEY-----\n"}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
        "containers": [{"name": "c", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "PORT", "value": "8080"}]}]}}}}
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
           "spec": {"source": {"helm": {"valuesObject": {"grafana": {"adminPassword": "admin"}}}}}}
    found = secret_problems([("s.yaml", secret), ("d.yaml", deployment), ("a.yaml", app)])
    assert [p.split(":")[0] for p in found] == ["s.yaml", "s.yaml", "d.yaml", "a.yaml"], found


NON_SECRET_TEMPLATE_KEYS = {"username", "sasl", "tls", "backup_api_username"}
"""Template keys that may hold a literal: user names and connection settings, never a credential."""
TEMPLATE_EXPRESSION = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)(\s*\|\s*sha256sum)?\s*\}\}")
"""The only template expressions allowed: a fetched key as is, or its SHA-256 (Redis ACL passwords)."""


def test_every_external_secret_reads_its_namespace_store_and_holds_no_value() -> None:
    found = 0
    for item in _rendered():
        if item.obj["kind"] != "ExternalSecret":
            continue
        found += 1
        spec = item.obj["spec"]
        namespace = item.obj["metadata"]["namespace"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": f"secrets-{namespace}"}
        template = spec.get("target", {}).get("template", {})
        assert set(template) <= {"metadata", "engineVersion", "type", "data", "mergePolicy"}, item.path
        assert set(template.get("metadata", {})) <= {"labels"}, item.path
        fetched = {entry["secretKey"] for entry in spec["data"]}
        for key, value in template.get("data", {}).items():
            # A templated value is built from fetched keys only; a literal is a user name or a setting, never a secret.
            names = [m.group(1) for m in TEMPLATE_EXPRESSION.finditer(value)]
            if names:
                assert set(names) <= fetched, (item.path, key)
                assert "{{" not in TEMPLATE_EXPRESSION.sub("", value), (item.path, key)
            else:
                assert key in NON_SECRET_TEMPLATE_KEYS, (item.path, key)
        for entry in spec["data"]:
            assert set(entry) <= {"secretKey", "remoteRef", "sourceRef"}
            assert set(entry["remoteRef"]) <= {"key", "property"}
            assert set(entry.get("sourceRef", {"storeRef": {}})) == {"storeRef"}
    assert found >= 10


def test_workloads_mount_only_secrets_that_external_secrets_or_cert_manager_write() -> None:
    rendered = render_all(load_all(DEFAULT_SPEC))
    made = {(r.obj["metadata"]["namespace"], r.obj["spec"]["target"]["name"]) for r in rendered if r.obj["kind"] == "ExternalSecret"}
    made |= {(r.obj["metadata"]["namespace"], r.obj["spec"]["secretName"]) for r in rendered if r.obj["kind"] == "Certificate"}
    # A Secret a job writes at run time (the Iceberg catalog's setup job writes each service's catalog principal):
    # a Role bound to the writer may update exactly that name.
    bound = {(r.obj["metadata"]["namespace"], r.obj["roleRef"]["name"]) for r in rendered if r.obj["kind"] == "RoleBinding"}
    made |= {(r.obj["metadata"]["namespace"], name) for r in rendered if r.obj["kind"] == "Role"
             and (r.obj["metadata"]["namespace"], r.obj["metadata"]["name"]) in bound
             for rule in r.obj["rules"] if "update" in rule.get("verbs", []) for name in rule.get("resourceNames", [])}
    checked = 0
    for item in rendered:
        if item.obj["kind"] not in ("Deployment", "StatefulSet", "Rollout"):
            continue
        checked += item.obj["kind"] == "Rollout"
        for volume in item.obj["spec"]["template"]["spec"].get("volumes", []):
            if "secret" in volume:
                assert (item.obj["metadata"]["namespace"], volume["secret"]["secretName"]) in made, item.path
    assert checked == 2 * len(load_all(DEFAULT_SPEC)["prod"].services), "every app service's Rollout (both environments) is checked"
