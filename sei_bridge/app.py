"""The composition root: builds the store, the SEI and SIGRC clients, the mappings and the engine
from :class:`~sei_bridge.config.Settings`. The only place that knows every concrete class; the
commands call :func:`open_store` or :func:`build_runtime` and nothing else."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from sei_bridge import config, logs, mapping
from sei_bridge.engine import Engine, SeiGuard
from sei_bridge.engine.dispatcher import THREADS_PER_SEI_CALL
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import Store

__all__ = ["Runtime", "build_runtime", "open_store"]


@dataclasses.dataclass(frozen=True)
class Runtime:
    """Everything a running sei-bridge needs, wired."""

    settings: config.Settings
    store: Store
    sei: SeiClient
    sigrc: SigrcClient
    mappings: mapping.Mappings
    engine: Engine


def open_store(settings: config.Settings) -> Store:
    """The store for ``settings.database_url``, migrated to the latest schema."""
    # a connection for each dispatcher thread, the feed poller and the lease renewer
    store = Store.from_url(
        settings.database_url, pool_size=settings.sei_concurrency * THREADS_PER_SEI_CALL + 4
    )
    store.migrate()
    return store


@contextlib.contextmanager
def build_runtime(settings: config.Settings) -> Iterator[Runtime]:
    """Wire a Runtime; closes the store's connections on exit."""
    settings.require(
        "sigrc_url", "sigrc_token", "sei_url", "sei_sigla_sistema", "sei_identificacao_servico"
    )
    mappings = mapping.load_mappings(Path(settings.mappings))
    store = open_store(settings)
    try:
        sei = SeiClient.from_settings(settings)
        sigrc = SigrcClient.from_settings(settings)
        engine = Engine(
            store=store,
            feed=FeedReader(sigrc),
            sigrc=sigrc,
            sei=sei,
            mappings=mappings,
            settings=settings,
            lease_seconds=settings.lease_seconds,
            guard=SeiGuard(
                rate_limit=settings.sei_rate_limit,
                reset_timeout=settings.sei_breaker_reset_seconds,
                max_in_flight=settings.sei_concurrency,
            ),
        )
        logs.set_worker(engine.worker)
        yield Runtime(settings, store, sei, sigrc, mappings, engine)
    finally:
        store.close()
