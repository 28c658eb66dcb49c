"""Kubernetes rules at the spec: names, label values, ports and listeners the API server would refuse are errors at
the spec field that produced them (exit 2), not objects a cluster rejects later."""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml import YAML
from typer.testing import CliRunner

from plinth.cli import app
from plinth.render.pipeline import RenderedObject, render_all
from plinth.spec.loader import load_all
from plinth.validate.kube_rules import object_problems, rule_problems
from tests.conftest import DEFAULT_SPEC


def _with_service(folder: Path, name: str) -> Path:
    """The default spec plus a public service like `frontend` (with its canary and stable Services) named ``name``."""
    yaml = YAML(typ="rt")
    doc = yaml.load(DEFAULT_SPEC.read_text())
    doc["services"][name] = json.loads(json.dumps(doc["services"]["frontend"]))
    doc["services"][name]["public_host"] = "extra"
    spec = folder / "platform.yaml"
    with spec.open("w") as handle:
        yaml.dump(doc, handle)
    return spec


def _line_of(spec: Path, text: str) -> int:
    return next(i for i, row in enumerate(spec.read_text().splitlines(), 1) if row.strip().startswith(text))


def test_the_default_spec_renders_nothing_a_cluster_refuses() -> None:
    assert rule_problems(render_all(load_all(DEFAULT_SPEC))) == []


def test_a_63_character_service_name_is_an_error_at_the_service(tmp_path: Path) -> None:
    name = "s" * 63  # a valid DNS label itself; its Service <name>-canary/-stable and labels are not
    spec = _with_service(tmp_path, name)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out), "--workflows-out", str(tmp_path / "wf")])
    assert result.exit_code == 2, result.output
    text = result.output.replace("\n", "")
    assert f"{spec}:{_line_of(spec, name + ':')}:3: services.{name}:" in text
    assert f"Service/platform-apps/{name}-canary" in text and "has 70" in text and "at most 63 characters" in text
    assert not out.exists()


def test_a_service_name_starting_with_a_digit_is_an_error_at_the_service(tmp_path: Path) -> None:
    spec = _with_service(tmp_path, "9lives")
    result = CliRunner().invoke(app, ["check", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert f"{spec}:{_line_of(spec, '9lives:')}:3: services.9lives:" in result.output
    assert "DNS-1035" in result.output.replace("\n", "")


def _item(obj: dict) -> RenderedObject:
    return RenderedObject(f"prod/x/{obj['kind'].lower()}.yaml", obj, "fixture", "prod")


def test_duplicate_service_ports_and_port_names() -> None:
    service = {"kind": "Service", "metadata": {"name": "web", "namespace": "platform-apps"},
               "spec": {"ports": [{"name": "http", "port": 8080}, {"name": "http", "port": 8080}, {"port": 9090}]}}
    messages = [p.message for p in object_problems(_item(service))]
    assert any("port 8080/TCP is listed twice" in m for m in messages)
    assert any("port name 'http' is used twice" in m for m in messages)
    assert any("must name each of them" in m for m in messages)


def test_two_gateway_listeners_on_one_hostname() -> None:
    gateway = {"kind": "Gateway", "metadata": {"name": "public", "namespace": "platform-system"},
               "spec": {"listeners": [{"name": "https-a", "port": 443, "hostname": "app.example.com"},
                                      {"name": "https-b", "port": 443, "hostname": "app.example.com"}]}}
    (problem,) = list(object_problems(_item(gateway)))
    assert "two listeners on port 443 for hostname app.example.com" in problem.message


def test_names_labels_and_container_ports() -> None:
    job = {"kind": "CronJob", "metadata": {"name": "c" * 53, "namespace": "platform-data", "labels": {"app": "x" * 64}},
           "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
               {"name": "main", "ports": [{"name": "metrics-port-too-long", "containerPort": 9090}, {"containerPort": 9090}]}]}}}}}}
    messages = [p.message for p in object_problems(_item(job))]
    assert any("at most 52 characters" in m for m in messages)
    assert any("label value" in m and "64 characters" in m for m in messages)
    assert any("IANA service name" in m for m in messages)
    assert any("container port 9090/TCP is declared twice" in m for m in messages)
