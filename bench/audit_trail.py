"""The auditors' commands on a long audit trail (not part of the test run).

Appends N entries (default 100,000, 1,000 per transaction, one hour apart per transaction) to a
fresh store, then runs the commands as an auditor does, each a ``sei-bridge`` subprocess timed
with its peak memory:

- ``db check`` and ``status`` (the schema check every command now starts with);
- ``audit verify`` over the whole trail (read-only, keyset pages of 2,000);
- ``audit export`` of the whole trail and of one day (24,000 entries);
- ``audit verify --file`` of the whole excerpt (no database);

and checks that the SQLite file is byte-identical afterwards.

Usage::

    .venv/bin/python bench/audit_trail.py [--entries 100000] [--postgres URL]

With ``--postgres`` the run uses a fresh schema of that database (dropped afterwards);
otherwise a SQLite file in a temp dir.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from sei_bridge import audit
from sei_bridge.store import Store, audit_log

BATCH = 1000
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _fill(url: str, entries: int) -> float:
    store = Store.from_url(url, pool_size=1)
    try:
        store.migrate()
        started = time.monotonic()
        for batch in range(entries // BATCH):
            records = [
                audit.AuditRecord(
                    "w1",
                    f"P{batch * BATCH + i}",
                    "action.done",
                    {"action_id": batch * BATCH + i, "kind": "INTERACAO_DOC", "seq": 5},
                )
                for i in range(BATCH)
            ]
            with store._db.write("bench: appending") as conn:  # the store's own append
                audit_log.append(conn, records, at=START + dt.timedelta(hours=batch))
        return time.monotonic() - started
    finally:
        store.close()


#: GNU time reports the command's own peak RSS (``wait4``'s ru_maxrss would report this
#: process's, inherited through fork, for a child smaller than its parent)
GNU_TIME = "/usr/bin/time"


def _run(env: dict[str, str], *args: str) -> dict[str, float | None]:
    """Run ``sei-bridge ARGS``; its wall time and, with GNU time installed, its peak RSS."""
    command = [sys.executable, "-m", "sei_bridge.cli", *args]
    measured = os.access(GNU_TIME, os.X_OK)
    if measured:
        command = [GNU_TIME, "-f", "peak_rss_kb=%M", *command]
    started = time.monotonic()
    result = subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"sei-bridge {' '.join(args)} failed: {result.stderr[-2000:]}")
    peak = None
    if measured:
        last = result.stderr.strip().splitlines()[-1]
        peak = round(int(last.removeprefix("peak_rss_kb=")) / 1024)
    return {"seconds": round(seconds, 2), "peak_rss_mb": peak}


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to run against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sei-bridge-bench-") as tmp:
        schema = None
        if args.postgres:
            schema = f"sb_bench_{uuid.uuid4().hex[:8]}"
            admin = make_url(args.postgres).set(drivername="postgresql")
            with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
            url = (
                make_url(args.postgres)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            results: dict[str, object] = {"entries": args.entries, "database": url.split(":")[0]}
            results["append_s"] = round(_fill(url, args.entries), 2)
            env = {k: v for k, v in os.environ.items() if not k.startswith("SEI_BRIDGE_")}
            env["SEI_BRIDGE_DATABASE_URL"] = url
            sqlite = None if args.postgres else Path(tmp) / "bench.db"
            before = _digest(sqlite) if sqlite else None
            whole, day = Path(tmp) / "all.jsonl", Path(tmp) / "day.jsonl"
            results["db check"] = _run(env, "db", "check")
            results["status"] = _run(env, "status")
            results["audit verify"] = _run(env, "audit", "verify")
            results["audit export (all)"] = _run(env, "audit", "export", "--output", str(whole))
            results["audit export (one day)"] = _run(
                env,
                "audit",
                "export",
                "--from",
                "2026-11-02",
                "--to",
                "2026-11-03",
                "--output",
                str(day),
            )
            results["audit verify --file (all)"] = _run(
                env, "audit", "verify", "--file", str(whole)
            )
            results["excerpt_mb"] = round(whole.stat().st_size / 2**20, 1)
            if sqlite is not None:
                results["sqlite_file_unchanged"] = _digest(sqlite) == before
        finally:
            if schema is not None:
                with psycopg.connect(
                    admin.render_as_string(hide_password=False), autocommit=True
                ) as c:
                    c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
