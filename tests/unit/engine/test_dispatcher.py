"""The dispatcher over in-memory fakes: order per request, parallel requests, marks, stops."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from sei_bridge import errors
from sei_bridge.engine import planner
from sei_bridge.engine.dispatcher import Dispatcher
from sei_bridge.engine.executors import Executor, ExtensionCatalog
from sei_bridge.engine.policy import RetryPolicy, SeiGuard
from sei_bridge.engine.probes import Prober
from sei_bridge.engine.runner import ActionRunner
from sei_bridge.sigrc import models
from sei_bridge.store.types import ActionKind, ActionState
from tests.unit.engine import builders as b
from tests.unit.engine.fakes import FakeSei, FakeSigrc, FakeStore

MAPPINGS = b.fazenda()
POLICY = RetryPolicy(initial=30.0, maximum=60.0, jitter=0.0, probe_delay=30.0)


def _store_with_requests(count: int) -> FakeStore:
    store = FakeStore()
    for n in range(count):
        protocolo = f"2026-{n:08d}"
        decision = planner.plan_event(
            b.evento(models.TipoEvento.REGISTRADA, protocolo, solicitacao=b.solicitacao(protocolo)),
            planner.History(),
            MAPPINGS,
        )
        assert isinstance(decision, planner.Plan)
        for seq, new in enumerate(decision.actions):
            a = b.action_from(new, protocolo=protocolo, seq=seq, attempts=0)
            store.actions[a.id] = a
    return store


def _dispatcher(
    tmp_path: Path,
    store: FakeStore,
    sei: FakeSei,
    *,
    guard: SeiGuard | None = None,
    lease_seconds: float = 60.0,
    concurrency: int = 4,
) -> Dispatcher:
    sigrc = FakeSigrc()
    runner = ActionRunner(
        executor=Executor(
            sei=sei,
            sigrc=sigrc,
            mappings=MAPPINGS,
            catalog=ExtensionCatalog(sei),
            work_dir=tmp_path,
        ),
        prober=Prober(sei=sei, mappings=MAPPINGS),
        read_ledger=store.ledger_of,
    )
    return Dispatcher(
        store=store,
        runner=runner,
        policy=POLICY,
        guard=guard or SeiGuard(rate_limit=0),
        concurrency=concurrency,
        worker="w1",
        lease_seconds=lease_seconds,
    )


def test_every_request_is_carried_through_in_order_with_requests_in_parallel(
    tmp_path: Path,
) -> None:
    store, sei = _store_with_requests(6), FakeSei()
    # two creations must be in SEI at the same moment, or this barrier breaks
    meet = threading.Barrier(2, timeout=5)
    creations = 0

    def on_call(operation: str) -> None:
        nonlocal creations
        if operation == "gerarProcedimento":
            creations += 1
            if creations <= 2:
                meet.wait()

    sei.on_call = on_call
    stats = _dispatcher(tmp_path, store, sei).run()
    assert stats.outcomes == {"done": 18}
    assert all(a.state is ActionState.DONE for a in store.actions.values())
    # each process got its opening document after it existed (incluirDocumento needs it)
    assert len(sei.processes) == 6
    assert all(len(p.documentos) == 1 for p in sei.processes.values())


def test_a_transient_failure_is_rescheduled_with_backoff_and_the_attempt_recorded(
    tmp_path: Path,
) -> None:
    store, sei = _store_with_requests(1), FakeSei()
    sei.fail_next("gerarProcedimento", errors.SeiNotSentError("connection refused"))
    started = time.time()
    stats = _dispatcher(tmp_path, store, sei).run()
    assert stats.outcomes == {"retry": 1}
    opening = next(a for a in store.actions.values() if a.kind is ActionKind.OPEN)
    assert opening.state is ActionState.PENDING
    assert opening.last_error == "attempt 1: connection refused"
    assert opening.next_attempt_at.timestamp() >= started + 30.0
    assert opening.lease_owner is None


def test_an_unanswered_creation_waits_for_its_probe(tmp_path: Path) -> None:
    store, sei = _store_with_requests(1), FakeSei()
    sei.fail_next("gerarProcedimento", errors.SeiOutcomeUnknownError("read timeout"))
    stats = _dispatcher(tmp_path, store, sei).run()
    assert stats.outcomes == {"uncertain": 1}
    opening = next(a for a in store.actions.values() if a.kind is ActionKind.OPEN)
    assert opening.state is ActionState.UNCERTAIN
    assert opening.last_error == "attempt 1: read timeout"


def test_a_configuration_error_stops_dispatching_without_blaming_the_item(tmp_path: Path) -> None:
    store, sei = _store_with_requests(5), FakeSei()
    sei.fail_next("gerarProcedimento", errors.SeiAccessDenied("Acesso negado."))
    guard = SeiGuard(rate_limit=0, max_in_flight=1)
    stats = _dispatcher(tmp_path, store, sei, concurrency=1, guard=guard).run()
    assert isinstance(stats.stopped, errors.SeiAccessDenied)
    # what the other thread had claimed ran to its end or was released untouched
    assert stats.outcomes["stopped"] == 1
    assert set(stats.outcomes) <= {"stopped", "done", "released"}
    states = {a.state for a in store.actions.values()}
    assert states <= {ActionState.PENDING, ActionState.DONE}  # rescheduled, not quarantined
    assert sei.count("gerarProcedimento") == 1 + stats.outcomes["done"]
    assert stats.ran <= 3  # one claim (two threads and one queued); nothing after the stop


def test_an_open_circuit_claims_nothing(tmp_path: Path) -> None:
    store, sei = _store_with_requests(2), FakeSei()
    guard = SeiGuard(rate_limit=0, fail_max=1, reset_timeout=60)
    with contextlib.suppress(errors.SeiNotSentError):
        guard.call("op", lambda: (_ for _ in ()).throw(errors.SeiNotSentError("down")))
    stats = _dispatcher(tmp_path, store, sei, guard=guard).run()
    assert stats.ran == 0 and stats.circuit_open_until is not None
    assert all(a.attempts == 0 for a in store.actions.values())


def test_leases_of_long_calls_are_renewed(tmp_path: Path) -> None:
    store, sei = _store_with_requests(1), FakeSei()
    renewed = threading.Event()

    def slow(operation: str) -> None:
        if operation == "gerarProcedimento":
            deadline = time.monotonic() + 5
            while not store.renewed and time.monotonic() < deadline:
                renewed.wait(0.02)

    sei.on_call = slow
    stats = _dispatcher(tmp_path, store, sei, lease_seconds=0.3).run()
    assert store.renewed, "the lease of the call in flight was never renewed"
    assert stats.outcomes["done"] == 3
