"""Claim and mark costs of the store with a large ledger (not part of the test run).

Loads N requests x 5 actions (default 50,000 x 5 = 250,000 rows), then measures:

- ``claim``: ``Store.claim_due_actions(limit=50)`` on a fresh backlog, each claim followed by
  ``mark_done`` of what it returned (so heads move on, as in production);
- ``mark_done``: one lease-checked mark with its audit entry;
- the same claim with 20% of the requests blocked behind a quarantined OPEN (4 waiting rows
  each): the rows a NOT EXISTS design would have to step over on every claim;
- for comparison, the NOT EXISTS formulation (``state``/``next_attempt_at`` index, per-row
  check of lower-seq actions) on the same data, as a plain SELECT.

Usage::

    .venv/bin/python bench/store_claims.py [--requests 50000] [--postgres URL]

With ``--postgres`` the run uses a fresh schema of that database (dropped afterwards);
otherwise a SQLite file in a temp dir.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sei_bridge.store import ActionKind, ActionState, RequestState, Store, schema

KINDS = [
    (ActionKind.OPEN, "", True),
    (ActionKind.ANEXO, "an-1", False),
    (ActionKind.ANEXO, "an-2", False),
    (ActionKind.SIGRC_PROCESSO, "", True),
    (ActionKind.INTERACAO_DOC, "int-1", True),
]

NOT_EXISTS_CLAIM = """
SELECT a.id FROM action a
WHERE a.state IN ('PENDING', 'UNCERTAIN') AND a.next_attempt_at <= :now
  AND (a.lease_expires_at IS NULL OR a.lease_expires_at <= :now)
  AND NOT EXISTS (
    SELECT 1 FROM action b
    WHERE b.protocolo = a.protocolo AND b.seq < a.seq
      AND NOT (b.state = 'DONE' OR (b.state = 'QUARANTINED' AND NOT b.blocking)))
ORDER BY a.next_attempt_at, a.id
LIMIT 50
"""


def load(store: Store, requests: int, blocked_share: float) -> None:
    """Bulk-load the ledger directly (planning 50,000 events one by one is not what we time)."""
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    blocked = int(requests * blocked_share)
    with store.engine.begin() as conn:
        for start in range(0, requests, 5000):
            batch = range(start, min(start + 5000, requests))
            conn.execute(
                sa.insert(schema.solicitacao),
                [
                    {
                        "protocolo": f"P{n:07d}",
                        "servico_codigo": "3222",
                        "state": RequestState.ACTIVE,
                        "next_seq": len(KINDS),
                        "closures": 0,
                        "created_at": t0,
                        "updated_at": t0,
                    }
                    for n in batch
                ],
            )
            rows = []
            for n in batch:
                # the first `blocked` requests are stuck behind a quarantined OPEN, and were
                # planned first, so their waiting rows are the oldest due
                stuck = n < blocked
                due = t0 + dt.timedelta(milliseconds=n)
                for seq, (kind, source, blocking) in enumerate(KINDS):
                    state = ActionState.QUARANTINED if stuck and seq == 0 else ActionState.PENDING
                    rows.append(
                        {
                            "protocolo": f"P{n:07d}",
                            "kind": kind,
                            "source_id": source,
                            "seq": seq,
                            "state": state,
                            "is_head": seq == 0,
                            "blocking": blocking,
                            "attempts": 0,
                            "next_attempt_at": due,
                            "payload": {},
                            "result": {},
                            "created_at": t0,
                            "updated_at": t0,
                            "state_since": t0,
                        }
                    )
            conn.execute(sa.insert(schema.action), rows)
        conn.exec_driver_sql("ANALYZE")


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1] if len(samples) >= 20 else samples[-1]
    print(f"  {name:<44} median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms")


def run(store: Store, requests: int) -> None:
    started = time.perf_counter()
    load(store, requests, blocked_share=0.2)
    elapsed = time.perf_counter() - started
    print(f"  loaded {requests} requests x {len(KINDS)} actions in {elapsed:.1f} s")
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    claim_ms: list[float] = []
    mark_ms: list[float] = []
    for _ in range(40):
        start = time.perf_counter()
        claimed = store.claim_due_actions("bench", limit=50, lease_seconds=60, now=now)
        claim_ms.append((time.perf_counter() - start) * 1000)
        assert len(claimed) == 50, len(claimed)
        for action in claimed:
            start = time.perf_counter()
            assert store.mark_done(action.id, "bench", {"id_documento": str(action.id)})
            mark_ms.append((time.perf_counter() - start) * 1000)
    summary("claim_due_actions(limit=50), is_head index", claim_ms)
    summary("mark_done (lease check + head + audit)", mark_ms)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_bench_state_due ON action (state, next_attempt_at)")
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE action")
    with store.engine.connect() as conn:
        not_exists = timed(lambda: conn.execute(sa.text(NOT_EXISTS_CLAIM), {"now": now}).all(), 20)
        found = conn.execute(sa.text(NOT_EXISTS_CLAIM), {"now": now}).all()
    assert len(found) == 50
    summary("NOT EXISTS claim (SELECT only), for comparison", not_exists)
    report = store.status()
    print(
        f"  status(): {sum(report.actions_by_state().values())} actions, "
        f"{timed(lambda: store.status(), 3)[-1]:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--postgres", help="PostgreSQL URL (a fresh schema is used and dropped)")
    args = parser.parse_args()
    if args.postgres:
        name = f"sb_bench_{uuid.uuid4().hex[:8]}"
        admin = make_url(args.postgres).set(drivername="postgresql")
        conninfo = admin.render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        url = make_url(args.postgres).update_query_dict({"options": f"-csearch_path={name}"})
        store = Store.from_url(url.render_as_string(hide_password=False))
        try:
            store.migrate()
            print(f"PostgreSQL (schema {name})")
            run(store, args.requests)
        finally:
            store.close()
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    else:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.from_url(f"sqlite:///{Path(tmp) / 'bench.db'}")
            try:
                store.migrate()
                print("SQLite")
                run(store, args.requests)
            finally:
                store.close()


if __name__ == "__main__":
    main()
