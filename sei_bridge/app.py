"""The composition root: builds the store, the SEI and SIGRC clients, the mappings and the engine
from :class:`~sei_bridge.config.Settings`. The only place that knows every concrete class; the
commands call :func:`open_store` or :func:`build_runtime` and nothing else."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from sei_bridge import config, errors, logs, mapping
from sei_bridge.engine import Engine, SeiGuard
from sei_bridge.engine.dispatcher import THREADS_PER_SEI_CALL
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import Store
from sei_bridge.store.database import Access
from sei_bridge.store.lifecycle import SchemaStatus

__all__ = ["Runtime", "build_runtime", "migrate_store", "open_store", "schema_status"]


@dataclasses.dataclass(frozen=True)
class Runtime:
    """Everything a running sei-bridge needs, wired."""

    settings: config.Settings
    store: Store
    sei: SeiClient
    sigrc: SigrcClient
    mappings: mapping.Mappings
    engine: Engine


def open_store(settings: config.Settings, *, read_only: bool = False) -> Store:
    """The store for ``settings.database_url``, which must exist at this code's schema revision
    (:class:`~sei_bridge.errors.SchemaError` otherwise, naming the revision and the fix). Never
    creates or migrates anything; ``read_only``: never writes at all."""
    # a connection for each dispatcher thread, the feed poller and the lease renewer
    store = Store.from_url(
        settings.database_url,
        pool_size=settings.sei_concurrency * THREADS_PER_SEI_CALL + 4,
        access=Access.READ_ONLY if read_only else Access.READ_WRITE,
    )
    try:
        status = store.schema_status()
    except BaseException:
        store.close()
        raise
    problem = status.problem()
    if problem is not None:
        store.close()
        raise errors.SchemaError(problem, state=status.state.value)
    return store


def schema_status(settings: config.Settings) -> SchemaStatus:
    """Where ``settings.database_url`` stands against this code's migrations (``db check``);
    opens it read-only and creates nothing."""
    store = Store.from_url(settings.database_url, pool_size=1, access=Access.READ_ONLY)
    try:
        return store.schema_status()
    finally:
        store.close()


def migrate_store(settings: config.Settings) -> tuple[SchemaStatus, SchemaStatus]:
    """``sei-bridge migrate``: create (a SQLite file, 0600) or upgrade the database; returns
    where it stood before and after."""
    store = Store.from_url(settings.database_url, pool_size=1, access=Access.CREATE)
    try:
        return store.migrate()
    finally:
        store.close()


@contextlib.contextmanager
def build_runtime(settings: config.Settings, *, read_only: bool = False) -> Iterator[Runtime]:
    """Wire a Runtime on a current database (see :func:`open_store`); closes the store's
    connections on exit. ``read_only``: a store that never writes (``reconcile`` without
    ``--fix``)."""
    settings.require(
        "sigrc_url", "sigrc_token", "sei_url", "sei_sigla_sistema", "sei_identificacao_servico"
    )
    mappings = mapping.load_mappings(Path(settings.mappings))
    store = open_store(settings, read_only=read_only)
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
