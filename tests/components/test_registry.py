"""The component registry: every module is registered, names are unique."""

from __future__ import annotations

import pkgutil

import plinth.components as package
from plinth.components.registry import ALL_COMPONENTS

NOT_COMPONENTS = {"base", "registry"}


def test_every_component_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)} - NOT_COMPONENTS
    registered = {getattr(c, part).__module__.rsplit(".", 1)[-1] for c in ALL_COMPONENTS for part in ("objects", "charts", "flows")}
    missing = sorted(modules - registered)
    assert not missing, f"component modules not in ALL_COMPONENTS: {missing}"


def test_component_names_are_unique() -> None:
    names = [c.name for c in ALL_COMPONENTS]
    assert len(names) == len(set(names))


def test_each_module_exposes_component() -> None:
    import importlib

    for info in pkgutil.iter_modules(package.__path__):
        if info.name in NOT_COMPONENTS:
            continue
        module = importlib.import_module(f"plinth.components.{info.name}")
        assert hasattr(module, "COMPONENT"), f"plinth.components.{info.name} has no COMPONENT"
        assert module.COMPONENT in ALL_COMPONENTS, f"plinth.components.{info.name}.COMPONENT is not registered"
