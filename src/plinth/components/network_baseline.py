"""The network baseline every pod shares: name resolution through the cluster DNS.

Every namespace of the spec is isolated (default-deny, rendered with all NetworkPolicies by
``plinth.render.network``); each component declares the flows its own pods need (``Component.flows``), and the
policies are rendered from those declarations.
"""

from __future__ import annotations

from plinth.components.base import Component
from plinth.kube.flows import KUBE_DNS, Flow, Pods, flow
from plinth.spec.model import Platform

NAME = "network-baseline"
DNS_PORT = 53


def flows(platform: Platform) -> list[Flow]:
    """Every pod resolves names through the cluster DNS."""
    return [flow(Pods.of(None), KUBE_DNS, DNS_PORT, "name resolution", "UDP"),
            flow(Pods.of(None), KUBE_DNS, DNS_PORT, "name resolution (large answers)", "TCP")]


COMPONENT = Component(name=NAME, namespace=None, flows=flows)
