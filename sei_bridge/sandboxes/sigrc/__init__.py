"""The SIGRC simulator: the feed API of ``sigrc-feed.openapi.yaml`` over real HTTP.

Faithful to the contract (not to any client), seeded, fast and inspectable::

    from sei_bridge.sandboxes.sigrc import SimulatorConfig, start_simulator

    with start_simulator(SimulatorConfig(requests=50, lag_seconds=0.2)) as sigrc:
        sigrc.base_url          # http://127.0.0.1:PORT/sigrc
        sigrc.token             # the bearer token it expects
        sigrc.state.written     # every event written, with its sequencia and visibility time

``openapi.yaml`` beside this file is a byte-identical copy of the contract, kept for
documentation and for the contract test where ../shared is absent.
"""

from __future__ import annotations

from sei_bridge.sandboxes.sigrc.config import (
    DEFAULT_BASE_PATH,
    DEFAULT_PORT,
    DEV_TOKEN,
    Clock,
    ManualClock,
    SimulatorConfig,
)
from sei_bridge.sandboxes.sigrc.records import ProcessoSeiPut
from sei_bridge.sandboxes.sigrc.server import RunningSimulator, SigrcApp, start_simulator
from sei_bridge.sandboxes.sigrc.state import (
    Attachment,
    EventsPage,
    Overload,
    SimulatorState,
    WrittenEvent,
)

__all__ = [
    "DEFAULT_BASE_PATH",
    "DEFAULT_PORT",
    "DEV_TOKEN",
    "Attachment",
    "Clock",
    "EventsPage",
    "ManualClock",
    "Overload",
    "ProcessoSeiPut",
    "RunningSimulator",
    "SigrcApp",
    "SimulatorConfig",
    "SimulatorState",
    "WrittenEvent",
    "start_simulator",
]
