"""Real programs in the place of simulated pods.

kwok runs every pod as a fake: the Deployment of an operator chart gets a Running pod that does nothing.
``pod_program`` takes one such pod over: the operator's real binary runs out of cluster, inside the
cluster's network namespace, as that pod's container would: in a network namespace of its own holding the pod's
IP (``plinth.sim.cluster.attach_pod_network``: Services, webhooks and APIServices that route to the pod reach the
program, and two programs may listen on the same port as two pods do), the container's
arguments and environment are resolved as the kubelet does (``$(VAR)`` expansion, field and resource
references, ConfigMap and Secret keys, ``envFrom``), its volumes are written at their mount paths (the
service account token of the pod's own ServiceAccount, from the TokenRequest API, so the operator has
exactly the RBAC its chart grants), and it reaches the API server as an in-cluster client
(``KUBERNETES_SERVICE_HOST``). ``plinth.sim.podrun`` does the file system part and execs the program.

What cannot be resolved (a missing ConfigMap or Secret key that is not optional) is what a kubelet would
refuse the container for (``CreateContainerConfigError``): it is returned as a problem and the program is
not started.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from plinth.quantities import quantity
from plinth.sim.cluster import SimCluster
from plinth.sim.pki import GATEWAY_IP

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOKEN_SECONDS = 86400


class TakeoverError(RuntimeError):
    """The pod's container cannot be started as a kubelet would (missing key, no such container)."""


@dataclass
class ProgramSpec:
    """What ``plinth.sim.podrun`` needs to run one container."""

    name: str
    pod: str
    namespace: str
    pod_ip: str
    binary: str
    argv: list[str]
    env: dict[str, str]
    files: list[dict[str, Any]] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    workdir: str = "/"
    notes: list[str] = field(default_factory=list)


class _Objects:
    """ConfigMaps and Secrets of one namespace, read once."""

    def __init__(self, cluster: SimCluster, namespace: str):
        self.cluster = cluster
        self.namespace = namespace
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        key = (kind, name)
        if key not in self._cache:
            result = self.cluster.kubectl("get", kind, name, "-n", self.namespace, "-o", "json", check=False)
            self._cache[key] = json.loads(result.stdout) if result.returncode == 0 else None
        return self._cache[key]

    def data(self, kind: str, name: str) -> dict[str, bytes] | None:
        obj = self.get(kind, name)
        if obj is None:
            return None
        if kind == "secret":
            return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return out


def _field_value(pod: dict[str, Any], path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    values = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"), "status.hostIP": status.get("hostIP", ""),
        "status.podIP": status.get("podIP", ""), "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
    }
    if path not in values:
        raise TakeoverError(f"unsupported fieldRef {path!r}")
    return str(values[path])


def _resource_value(container: dict[str, Any], ref: dict[str, Any]) -> str:
    resource = ref["resource"]
    section, _, name = resource.partition(".")
    raw = ((container.get("resources") or {}).get(section) or {}).get(name)
    if raw is None:  # the kubelet uses the node's allocatable; a large number stands for it here
        raw = "64" if name == "cpu" else "64Gi"
    divisor = Decimal(str(quantity(ref.get("divisor", "1"))))
    value = Decimal(str(quantity(raw))) / divisor
    return str(int(value.to_integral_value(rounding=ROUND_CEILING)))


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (``$$`` escapes; unknown references stay as written)."""
    def repl(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", repl, text)


def resolve_env(pod: dict[str, Any], container: dict[str, Any], objects: _Objects) -> tuple[dict[str, str], list[str]]:
    """The container's environment as the kubelet builds it, and what it could not resolve."""
    env: dict[str, str] = {}
    problems: list[str] = []
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, ref_key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(ref_key)
            if not ref:
                continue
            data = objects.data(kind, ref["name"])
            if data is None:
                if not ref.get("optional"):
                    problems.append(f"{kind} {ref['name']!r} (envFrom) not found")
                continue
            env.update({prefix + k: v.decode(errors="replace") for k, v in data.items()})
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(str(item.get("value", "")), env)
            continue
        value_from = item["valueFrom"]
        try:
            if "fieldRef" in value_from:
                env[name] = _field_value(pod, value_from["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in value_from:
                env[name] = _resource_value(container, value_from["resourceFieldRef"])
            else:
                for kind, ref_key in (("configmap", "configMapKeyRef"), ("secret", "secretKeyRef")):
                    ref = value_from.get(ref_key)
                    if not ref:
                        continue
                    data = objects.data(kind, ref["name"])
                    if data is None or ref["key"] not in data:
                        if not ref.get("optional"):
                            problems.append(f"env {name}: {kind} {ref['name']!r} key {ref['key']!r} not found")
                    else:
                        env[name] = data[ref["key"]].decode(errors="replace")
        except TakeoverError as exc:
            problems.append(f"env {name}: {exc}")
    return env, problems


def service_account_token(cluster: SimCluster, namespace: str, account: str, pod: str, audience: str | None = None,
                          seconds: int = TOKEN_SECONDS) -> str:
    """A token of the pod's ServiceAccount from the TokenRequest API, bound to the pod."""
    args = ["create", "token", account, "-n", namespace, f"--duration={seconds}s", "--bound-object-kind=Pod",
            f"--bound-object-name={pod}"]
    if audience:
        args.append(f"--audience={audience}")
    return cluster.kubectl(*args).stdout.strip()


def _volume_files(cluster: SimCluster, pod: dict[str, Any], volume: dict[str, Any], objects: _Objects,
                  tokens: bool = True) -> dict[str, tuple[bytes, int]]:
    """Files (relative path -> (content, mode)) a volume shows, and [] for an empty dir (``tokens``: False leaves
    out service-account tokens, which a refresh keeps until they near expiry)."""
    files: dict[str, tuple[bytes, int]] = {}

    def from_items(data: dict[str, bytes], items: list[dict[str, Any]] | None, mode: int) -> None:
        if items:
            for item in items:
                if item["key"] in data:
                    files[item["path"]] = (data[item["key"]], int(item.get("mode", mode)))
        else:
            for key, value in data.items():
                files[key] = (value, mode)

    meta = pod["metadata"]
    if "secret" in volume:
        ref = volume["secret"]
        data = objects.data("secret", ref["secretName"])
        if data is None and not ref.get("optional"):
            raise TakeoverError(f"volume {volume['name']}: secret {ref['secretName']!r} not found")
        from_items(data or {}, ref.get("items"), int(ref.get("defaultMode", 0o644)))
    elif "configMap" in volume:
        ref = volume["configMap"]
        data = objects.data("configmap", ref["name"])
        if data is None and not ref.get("optional"):
            raise TakeoverError(f"volume {volume['name']}: configmap {ref['name']!r} not found")
        from_items(data or {}, ref.get("items"), int(ref.get("defaultMode", 0o644)))
    elif "downwardAPI" in volume:
        for item in volume["downwardAPI"].get("items") or []:
            if "fieldRef" in item:
                files[item["path"]] = (_field_value(pod, item["fieldRef"]["fieldPath"]).encode(), 0o644)
    elif "projected" in volume:
        mode = int(volume["projected"].get("defaultMode", 0o644))
        for source in volume["projected"].get("sources") or []:
            if "serviceAccountToken" in source and tokens:
                ref = source["serviceAccountToken"]
                token = service_account_token(cluster, meta["namespace"], pod["spec"].get("serviceAccountName", "default"),
                                              meta["name"], ref.get("audience"),
                                              max(TOKEN_SECONDS, int(ref.get("expirationSeconds", 3607))))
                files[ref["path"]] = (token.encode(), mode)
            for kind, key in (("secret", "secret"), ("configmap", "configMap")):
                if key in source:
                    ref = source[key]
                    data = objects.data(kind, ref["name"])
                    if data is None and not ref.get("optional"):
                        raise TakeoverError(f"volume {volume['name']}: {kind} {ref['name']!r} not found")
                    from_items(data or {}, ref.get("items"), mode)
            if "downwardAPI" in source:
                for item in source["downwardAPI"].get("items") or []:
                    if "fieldRef" in item:
                        files[item["path"]] = (_field_value(pod, item["fieldRef"]["fieldPath"]).encode(), mode)
    return files


def pod_program(cluster: SimCluster, pod: dict[str, Any], container_name: str, binary: Path, *,
                argv_prefix: tuple[str, ...] = (), drop_command: bool = True, drop_first_arg: bool = False,
                extra_path: tuple[str, ...] = (), env_overrides: dict[str, str] | None = None, tokens: bool = True) -> ProgramSpec:
    """The program spec that runs ``binary`` as ``container_name`` of ``pod`` (see the module docstring).

    ``drop_command``: the container's ``command[0]`` is the image's program, replaced by ``binary``; the rest of
    ``command`` and ``args`` follow ``argv_prefix`` (for multi-call binaries).
    """
    meta, spec = pod["metadata"], pod.get("spec", {})
    containers = {c["name"]: c for c in spec.get("containers") or []}
    if container_name not in containers:
        raise TakeoverError(f"pod {meta['namespace']}/{meta['name']} has no container {container_name!r} "
                            f"(it has {', '.join(sorted(containers))})")
    container = containers[container_name]
    objects = _Objects(cluster, meta["namespace"])
    env, problems = resolve_env(pod, container, objects)
    if problems:
        raise TakeoverError("; ".join(problems))
    env.setdefault("PATH", ":".join([*extra_path, DEFAULT_PATH]))
    env.update({"HOSTNAME": meta["name"], "KUBERNETES_SERVICE_HOST": GATEWAY_IP,
                "KUBERNETES_SERVICE_PORT": str(cluster.ports["kube-apiserver"]),
                "KUBERNETES_SERVICE_PORT_HTTPS": str(cluster.ports["kube-apiserver"])})
    env.update(env_overrides or {})
    command = list(container.get("command") or [])
    args = list(container.get("args") or [])
    if drop_command and command:
        command = command[1:]
    if drop_first_arg and args:
        args = args[1:]
    argv = [str(binary), *argv_prefix, *(expand(a, env) for a in command + args)]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files: list[dict[str, Any]] = []
    dirs: list[str] = []
    notes: list[str] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise TakeoverError(f"volumeMount {mount['name']!r} names no volume of the pod")
        content = _volume_files(cluster, pod, volume, objects, tokens)
        target = mount["mountPath"].rstrip("/") or "/"
        if not any(k in volume for k in ("secret", "configMap", "downwardAPI", "projected", "emptyDir")):
            notes.append(f"volume {volume['name']} ({', '.join(k for k in volume if k != 'name')}) mounted as an empty directory")
        sub = mount.get("subPath")
        if sub:
            if sub in content:
                data, mode = content[sub]
                files.append({"path": target, "content": base64.b64encode(data).decode(), "mode": mode})
            else:
                dirs.append(target)
            continue
        dirs.append(target)
        for relative, (data, mode) in sorted(content.items()):
            files.append({"path": f"{target}/{relative}", "content": base64.b64encode(data).decode(), "mode": mode})
    return ProgramSpec(name=f"{meta['namespace']}.{meta['name']}.{container_name}", pod=meta["name"], namespace=meta["namespace"],
                       pod_ip=pod.get("status", {}).get("podIP", ""), binary=str(binary), argv=argv, env=env, files=files,
                       dirs=dirs, workdir=container.get("workingDir") or "/", notes=notes)


def launcher_argv(cluster: SimCluster, spec: ProgramSpec, state: Path, pod_netns: str | None = None) -> list[str]:
    """Write the spec where ``podrun`` reads it; return the command that runs the program in the cluster's namespace
    (its mounts and hosts file) and, with ``pod_netns``, in its pod's own network (``attach_pod_network``)."""
    state.mkdir(parents=True, exist_ok=True)
    path = state / "podrun.json"
    payload = {"state": str(state), "binary": spec.binary, "argv": spec.argv, "env": spec.env, "files": spec.files,
               "dirs": spec.dirs, "workdir": spec.workdir, "links": spec.links}
    path.write_text(json.dumps(payload))
    path.chmod(0o600)
    network = ["nsenter", f"--net=/run/netns/{pod_netns}"] if pod_netns else []
    return ["ip", "netns", "exec", cluster.netns, *network, sys.executable, "-m", "plinth.sim.podrun", str(path)]


def describe(spec: ProgramSpec) -> str:
    """One line: the command as it runs (secrets are in files and env, never printed)."""
    return " ".join(shlex.quote(part) for part in spec.argv)
