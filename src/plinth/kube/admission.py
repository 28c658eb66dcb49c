"""Host access confined to named node agents: a ValidatingAdmissionPolicy per namespace that must admit privileged pods.

Pod Security Admission works per namespace: a namespace holding node agents (node-exporter reads the host's /proc and
/sys in its network and PID namespaces, the log collector reads /var/log) must enforce ``privileged``, which admits
*every* pod there with host access. Exemptions per ServiceAccount are API-server configuration, which managed control
planes (EKS, GKE, AKS) do not expose. A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in 1.30) does
the rest on any cluster: in such a namespace it refuses the baseline profile's host features to every pod but the
declared agents' own, and to those it allows only what each agent declares. A pod counts as an agent's only when the
DaemonSet controller creates it, owned by the agent's DaemonSet and running as its ServiceAccount: a pod created by
hand with the agent's ServiceAccount gets nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plinth.kube.objects import k8s_object, labels

BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                                   "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
"""Capabilities the baseline Pod Security level allows to add."""
BASELINE_SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                    "net.ipv4.tcp_keepalive_probes")
"""The safe sysctls the baseline level allows (Pod Security Standards, Kubernetes 1.32+)."""
BASELINE_SELINUX_TYPES = ("container_t", "container_init_t", "container_kvm_t", "container_engine_t")
"""SELinux types the baseline level allows (besides none)."""

DAEMONSET_CONTROLLER_USERS = ("system:serviceaccount:kube-system:daemon-set-controller", "system:kube-controller-manager")
"""Who creates a DaemonSet's pods: the controller's own ServiceAccount (``--use-service-account-credentials``, as
kubeadm, EKS, GKE and AKS run it) or the controller-manager's identity without that flag."""

POLICY_PREFIX = "plinth-host-access-"
"""Name of each namespace's policy and binding: the prefix and the namespace."""
POLICY_LABEL = "plinth.dev/host-access"
"""Label on the policies and bindings, valued with the namespace they confine."""
COMPONENT_NAME = "host-access"
"""The render stage (folder and Application) these objects belong to."""

POD_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class HostAccess:
    """A node agent's DaemonSet and exactly which host features its pods need."""

    namespace: str
    daemonset: str
    """The DaemonSet (as the chart names it) whose pods alone may have this access."""
    service_account: str
    """The ServiceAccount its pods run as."""
    host_network: bool = False
    host_pid: bool = False
    host_paths: tuple[str, ...] = ()
    """hostPath volumes it may mount (read-only: the policy refuses a writable mount of any hostPath)."""
    host_ports: tuple[int, ...] = ()
    """Host ports its containers may bind (with host network, every container port is a host port)."""


def _literal(value: object) -> str:
    """A CEL literal for strings, numbers, booleans and lists/maps of them (JSON's syntax is CEL's here)."""
    return json.dumps(value, sort_keys=True)


def _every_container(condition: str) -> str:
    """CEL: ``condition`` (over ``c``) holds for every container, init container and ephemeral container."""
    return " && ".join(f"(!has(object.spec.{field}) || object.spec.{field}.all(c, {condition}))" for field in POD_CONTAINER_FIELDS)


def _context_holds(condition: str) -> str:
    """CEL: ``condition`` written over ``sc`` holds for the pod's security context and every container's."""
    pod = "!has(object.spec.securityContext) || " + condition.replace("sc.", "object.spec.securityContext.")
    return f"({pod}) && " + _every_container("!has(c.securityContext) || " + condition.replace("sc.", "c.securityContext."))


def _feature_holders(agents: Sequence[HostAccess], attribute: str) -> list[str]:
    return sorted(a.service_account for a in agents if getattr(a, attribute))


def policy_name(namespace: str) -> str:
    """The policy (and binding) confining host access in ``namespace``."""
    return f"{POLICY_PREFIX}{namespace}"


def host_access_policy(namespace: str, agents: Iterable[HostAccess]) -> list[dict]:
    """The ValidatingAdmissionPolicy and its Deny binding confining ``namespace``'s host access to ``agents``."""
    agents = sorted((a for a in agents if a.namespace == namespace), key=lambda a: a.service_account)
    owners = {a.service_account: a.daemonset for a in agents}
    paths = {a.service_account: sorted(a.host_paths) for a in agents}
    ports = {a.service_account: sorted(a.host_ports) for a in agents}
    agent = "variables.agent"
    variables = [
        {"name": "serviceAccount",
         "expression": "has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default'"},
        {"name": "agent", "expression": (
            f"variables.serviceAccount in {_literal(owners)} && request.userInfo.username in {_literal(list(DAEMONSET_CONTROLLER_USERS))}"
            " && has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(o, o.kind == 'DaemonSet' && "
            f"o.name == {_literal(owners)}[variables.serviceAccount])")},
        {"name": "hostPathVolumes",
         "expression": "has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.hostPath)).map(v, v.name) : []"},
    ]
    def who(holders: Sequence[HostAccess]) -> str:
        return f"{namespace}: only the DaemonSet controller's pods of " + (
            ", ".join(f"{a.daemonset} (ServiceAccount {a.service_account})" for a in holders) or "no DaemonSet")
    validations = [
        {"expression": f"!(has(object.spec.hostNetwork) && object.spec.hostNetwork) || ({agent} && variables.serviceAccount in "
                       f"{_literal(_feature_holders(agents, 'host_network'))})",
         "message": f"host network refused in {who([a for a in agents if a.host_network])} may use it", "reason": "Forbidden"},
        {"expression": f"!(has(object.spec.hostPID) && object.spec.hostPID) || ({agent} && variables.serviceAccount in "
                       f"{_literal(_feature_holders(agents, 'host_pid'))})",
         "message": f"host PID namespace refused in {who([a for a in agents if a.host_pid])} may use it", "reason": "Forbidden"},
        {"expression": "!(has(object.spec.hostIPC) && object.spec.hostIPC)",
         "message": f"host IPC namespace refused in {namespace}: no pod needs it", "reason": "Forbidden"},
        {"expression": _every_container("!has(c.volumeMounts) || c.volumeMounts.all(m, !(m.name in variables.hostPathVolumes) || "
                                        "(has(m.readOnly) && m.readOnly))"),
         "message": f"a hostPath volume mounted writable in {namespace}: host paths are mounted read-only", "reason": "Forbidden"},
        {"expression": f"variables.hostPathVolumes.size() == 0 || object.spec.volumes.all(v, !has(v.hostPath) || ({agent} && "
                       f"v.hostPath.path in {_literal(paths)}[variables.serviceAccount]))",
         "message": (f"hostPath volume refused in {who([a for a in agents if a.host_paths])} may mount their declared host paths ("
                     + "; ".join(f"{a.service_account}: {', '.join(sorted(a.host_paths)) or 'none'}" for a in agents) + ")"),
         "reason": "Forbidden"},
        {"expression": _every_container("!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0 || "
                                        f"({agent} && p.hostPort in {_literal(ports)}[variables.serviceAccount]))"),
         "message": f"host port refused in {who([a for a in agents if a.host_ports])} may bind their declared ports",
         "reason": "Forbidden"},
        {"expression": _every_container("!has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged"),
         "message": f"privileged container refused in {namespace}: no pod needs it", "reason": "Forbidden"},
        {"expression": _every_container("!has(c.securityContext) || !has(c.securityContext.capabilities) || "
                                        "!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(cap, "
                                        f"cap in {_literal(sorted(BASELINE_CAPABILITIES))})"),
         "message": f"capability beyond the baseline set refused in {namespace}", "reason": "Forbidden"},
        {"expression": _every_container("!has(c.securityContext) || !has(c.securityContext.procMount) || "
                                        "c.securityContext.procMount == 'Default'"),
         "message": f"unmasked /proc refused in {namespace}", "reason": "Forbidden"},
        {"expression": _context_holds("!has(sc.seccompProfile) || sc.seccompProfile.type != 'Unconfined'"),
         "message": f"seccomp profile Unconfined refused in {namespace}", "reason": "Forbidden"},
        {"expression": _context_holds("!has(sc.appArmorProfile) || sc.appArmorProfile.type != 'Unconfined'"),
         "message": f"AppArmor profile Unconfined refused in {namespace}", "reason": "Forbidden"},
        {"expression": _context_holds("!has(sc.seLinuxOptions) || ((!has(sc.seLinuxOptions.type) || sc.seLinuxOptions.type == '' || "
                                      f"sc.seLinuxOptions.type in {_literal(list(BASELINE_SELINUX_TYPES))}) && "
                                      "(!has(sc.seLinuxOptions.user) || sc.seLinuxOptions.user == '') && "
                                      "(!has(sc.seLinuxOptions.role) || sc.seLinuxOptions.role == ''))"),
         "message": f"SELinux user, role or type beyond the baseline refused in {namespace}", "reason": "Forbidden"},
        {"expression": _context_holds("!has(sc.windowsOptions) || !has(sc.windowsOptions.hostProcess) || !sc.windowsOptions.hostProcess"),
         "message": f"Windows host process refused in {namespace}", "reason": "Forbidden"},
        {"expression": "!has(object.spec.securityContext) || !has(object.spec.securityContext.sysctls) || "
                       f"object.spec.securityContext.sysctls.all(s, s.name in {_literal(list(BASELINE_SYSCTLS))})",
         "message": f"unsafe sysctl refused in {namespace}", "reason": "Forbidden"},
    ]
    name = policy_name(namespace)
    object_labels = labels(COMPONENT_NAME, name, **{POLICY_LABEL: namespace})
    policy = k8s_object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name, labels=object_labels, spec={
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]},
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["pods/ephemeralcontainers"]},
        ]},
        "variables": variables,
        "validations": validations,
    })
    binding = k8s_object("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name, labels=object_labels, spec={
        "policyName": name,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
    })
    return [policy, binding]


def _containers(spec: dict) -> list[dict]:
    return [c for field in POD_CONTAINER_FIELDS for c in spec.get(field) or []]


def host_access_refusals(spec: dict, agent: HostAccess | None) -> list[str]:
    """Why the host-access policy refuses a pod with ``spec``: ``agent`` is the node agent whose DaemonSet controller
    creates it (None for any other pod). The policy's host rules read offline — host namespaces, hostPath and its
    read-only mounts, host ports, privileged containers, added capabilities; the profile rules (seccomp, AppArmor,
    SELinux, sysctls, /proc) are left to the API server. Its verdict on the same cases is tested against the real one."""
    why: list[str] = []
    containers = _containers(spec)
    host_paths = {v["name"]: v["hostPath"].get("path", "") for v in spec.get("volumes") or [] if "hostPath" in v}
    ports = {p["hostPort"] for c in containers for p in c.get("ports") or [] if p.get("hostPort")}
    if spec.get("hostNetwork"):
        ports |= {p["containerPort"] for c in containers for p in c.get("ports") or [] if p.get("containerPort")}
        if not (agent and agent.host_network):
            why.append("host network")
    if spec.get("hostPID") and not (agent and agent.host_pid):
        why.append("host PID namespace")
    if spec.get("hostIPC"):
        why.append("host IPC namespace")
    for path in sorted(set(host_paths.values()) - set(agent.host_paths if agent else ())):
        why.append(f"hostPath {path}")
    for c in containers:
        for mount in c.get("volumeMounts") or []:
            if mount.get("name") in host_paths and not mount.get("readOnly"):
                why.append(f"hostPath {host_paths[mount['name']]} mounted writable by {c.get('name')}")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            why.append(f"container {c.get('name')} privileged")
        if set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES:
            why.append(f"container {c.get('name')} adds capabilities beyond the baseline set")
    for port in sorted(ports - set(agent.host_ports if agent else ())):
        why.append(f"host port {port}")
    return why
