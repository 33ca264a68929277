"""Several workers on one PostgreSQL database: SKIP LOCKED claims, the poller's advisory lock,
concurrent audit appends and concurrent migrations, on a real server (skipped with the reason
when none answers)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from sei_bridge.store import Action, ActionKind, NewAction, Store, locking
from tests.unit.store import builders as b

pytestmark = pytest.mark.postgres

DEADLINE = 30.0


@pytest.fixture
def two_workers(postgres_schema_url: str) -> Iterator[tuple[Store, Store]]:
    """Two Store objects (two connection pools) on one migrated schema: two processes."""
    first = Store.from_url(postgres_schema_url, pool_size=4)
    first.migrate()
    second = Store.from_url(postgres_schema_url, pool_size=4)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _in_threads(*jobs: Callable[[], None]) -> None:
    """Run jobs at once; fail if any raises or does not finish before the deadline."""
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait(DEADLINE)
            job()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not any(t.is_alive() for t in threads), "a worker hung: blocked on a lock?"
    if failures:
        raise failures[0]


def _plan_many(store: Store, requests: int) -> None:
    for n in range(1, requests + 1):
        b.planned_request(
            store,
            f"P{n:04d}",
            sequencia=n,
            actions=[
                NewAction(ActionKind.OPEN),
                NewAction(ActionKind.ANEXO, "an-1", blocking=False),
                NewAction(ActionKind.SIGRC_PROCESSO),
            ],
        )


def test_a_claim_in_progress_is_skipped_not_waited_for(two_workers: tuple[Store, Store]) -> None:
    first, second = two_workers
    _plan_many(first, 6)
    now = dt.datetime.now(dt.UTC)
    got: list[Action] = []
    with first.engine.begin() as conn:
        # worker 1 has claimed (rows locked) but not committed yet
        mine = locking.claim(
            conn, worker="w1", limit=3, now=now, lease_until=now + dt.timedelta(minutes=1)
        )
        _in_threads(lambda: got.extend(second.claim_due_actions("w2", limit=10, lease_seconds=60)))
    assert len(mine) == 3 and len(got) == 3
    assert {a.id for a in mine}.isdisjoint(a.id for a in got)
    assert {a.protocolo for a in mine} | {a.protocolo for a in got} == {
        f"P{n:04d}" for n in range(1, 7)
    }


def test_concurrent_workers_never_run_the_same_action_and_keep_request_order(
    two_workers: tuple[Store, Store],
) -> None:
    first, second = two_workers
    _plan_many(first, 40)
    done: dict[str, list[Action]] = {"w1": [], "w2": []}

    def work(store: Store, worker: str) -> Callable[[], None]:
        def loop() -> None:
            while True:
                claimed = store.claim_due_actions(worker, limit=4, lease_seconds=60)
                if not claimed:
                    if store.next_due_at() is None:
                        return
                    continue  # the other worker holds the rest; its marks free the next heads
                for action in claimed:
                    assert store.mark_done(action.id, worker, {"by": worker})
                    done[worker].append(action)

        return loop

    _in_threads(work(first, "w1"), work(second, "w2"))
    ids = Counter(a.id for a in done["w1"] + done["w2"])
    assert len(ids) == 120 and set(ids.values()) == {1}
    assert done["w1"] and done["w2"], "both workers should have had work"
    # per request the effects were recorded in seq order (the audit chain is the true order)
    order: dict[str, list[str]] = {}
    for entry in first.audit_trail(limit=10_000):
        if entry.event == "action.done":
            order.setdefault(entry.subject, []).append(entry.details["kind"])
    assert all(kinds == ["OPEN", "ANEXO", "SIGRC_PROCESSO"] for kinds in order.values())
    assert first.audit_verify().ok


def test_only_one_poller_holds_the_lock(two_workers: tuple[Store, Store]) -> None:
    first, second = two_workers
    with first.poller_lock() as got_first:
        assert got_first
        with second.poller_lock() as got_second:
            assert not got_second
        with first.poller_lock() as again_same_process:
            # another connection of the same process is another session: excluded too
            assert not again_same_process
    with second.poller_lock() as got_after_release:
        assert got_after_release


def test_poller_locks_of_two_schemas_do_not_exclude_each_other(
    two_workers: tuple[Store, Store], postgres_schema_factory: Callable[[], str]
) -> None:
    first, _ = two_workers
    elsewhere = Store.from_url(postgres_schema_factory(), pool_size=1)
    try:
        with first.poller_lock() as one, elsewhere.poller_lock() as other:
            assert one and other
    finally:
        elsewhere.close()


def test_concurrent_audit_appends_keep_one_valid_chain(two_workers: tuple[Store, Store]) -> None:
    first, second = two_workers
    _plan_many(first, 30)
    claimed = first.claim_due_actions("w", limit=30, lease_seconds=60)
    halves = claimed[::2], claimed[1::2]

    def mark(store: Store, actions: list[Action]) -> Callable[[], None]:
        def run() -> None:
            for a in actions:
                assert store.mark_retry(a.id, "w", "busy", 0)

        return run

    _in_threads(mark(first, halves[0]), mark(second, halves[1]))
    result = second.audit_verify()
    assert result.ok, result.problem
    retries = [e for e in first.audit_trail(limit=10_000) if e.event == "action.pending"]
    assert len(retries) == 30


def test_workers_starting_together_migrate_once(postgres_schema_url: str) -> None:
    stores = [Store.from_url(postgres_schema_url, pool_size=2) for _ in range(3)]
    try:
        _in_threads(*(s.migrate for s in stores))
        assert all(s.schema_is_current() for s in stores)
        assert stores[0].audit_verify().ok
    finally:
        for s in stores:
            s.close()
