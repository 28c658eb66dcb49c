"""The simulated cluster's stand-ins, one process inside its network namespace:
``python -m plinth.sim.standins STATE_FOLDER SERVER [CONTROLLER,...]``.

Every couple of seconds it plays what the cloud does (``plinth.sim.cloud``: disks for claims, load balancer
addresses) the operators that cannot run here (``plinth.sim.standin_operators``) and the named controllers
(``plinth.sim.standin_controllers``: those whose real program does not run). It logs one line per
action to stdout (the supervisor's log file) and never exits on an API error (the next pass retries).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable

from plinth.sim.cloud import assign_load_balancers, provision
from plinth.sim.kubeclient import KubeClient, admin_client
from plinth.sim.standin_controllers import CONTROLLER_PASSES
from plinth.sim.standin_operators import STANDIN_PASSES

INTERVAL_SECONDS = 2.0


def passes(controllers: list[str]) -> list[tuple[str, Callable[[KubeClient], list[str]]]]:
    """The stand-ins, in the order each pass runs them."""
    chosen = [(name, CONTROLLER_PASSES[name]) for name in controllers]
    return [("disks", provision), ("load-balancers", assign_load_balancers), *STANDIN_PASSES, *chosen]


def main() -> None:
    """Run the stand-ins until terminated."""
    folder, server = sys.argv[1], sys.argv[2]
    controllers = [c for c in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if c]
    client = admin_client(folder, server)
    steps = passes(controllers)
    print(f"stand-ins: {', '.join(name for name, _ in steps)}", flush=True)
    while True:
        for name, step in steps:
            try:
                for line in step(client):
                    print(f"{name}: {line}", flush=True)
            except Exception:  # noqa: BLE001 - a failing pass is logged and retried, never fatal
                print(f"{name}: pass failed:\n{traceback.format_exc()}", flush=True)
        time.sleep(INTERVAL_SECONDS)


if __name__ == "__main__":
    main()
