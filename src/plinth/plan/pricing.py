"""Per-cloud list prices of the planner (``plan/data/<cloud>.yaml``).

Every price carries its source page; the files say the date they were taken and that they are
on-demand list prices. What a node offers pods is the catalog's (``plinth.catalog.nodes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from plinth.spec.model import Provider


@dataclass(frozen=True)
class Pricing:
    """One cloud's planning data, as the YAML file states it."""

    provider: Provider
    data: dict[str, Any]

    @property
    def region(self) -> str:
        """Region the prices are for."""
        return str(self.data["region"])

    @property
    def hours_per_month(self) -> float:
        """Hours billed per month."""
        return float(self.data["hours_per_month"])

    def price(self, item: str, unit: str) -> float:
        """One price, e.g. ``price("block_storage", "usd_per_gib_month")``."""
        return float(self.data[item][unit])

    def instance_usd_per_hour(self, instance: str) -> float:
        """Hourly on-demand price of an instance type."""
        try:
            return float(self.data["instances"][instance]["usd_per_hour"])
        except KeyError:
            raise KeyError(f"plan/data/{self.provider}.yaml: no price for instance type {instance!r}") from None


@lru_cache(maxsize=None)
def pricing(provider: Provider) -> Pricing:
    """The planning data of one cloud."""
    text = (resources.files("plinth.plan") / "data" / f"{provider}.yaml").read_text()
    return Pricing(provider, yaml.safe_load(text))
