"""The schema lifecycle and the auditors' trail as an operator and an auditor use them, through
the ``sei-bridge`` command (a subprocess each run):

- ``db check`` tells current / older / newer / empty / missing / not sei-bridge's apart by
  exit code, and creates nothing;
- every other command refuses, in one line naming the fix, a database that is not current, and
  never migrates it; a mistyped SQLite path is never created;
- ``migrate`` is idempotent and two of them at once both succeed (SQLite and PostgreSQL);
- after a real sync, ``status``, ``audit verify``, ``audit export`` and ``db check`` leave a
  read-only (0400) SQLite file byte-identical, mtime included;
- an exported excerpt verifies without the database, an edited one fails naming the line, and
  neither the trail nor an excerpt holds the citizens' personal data.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sei_bridge.sandboxes.sei import RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.store import Store
from tests.acceptance.conftest import Bridge, BridgeFactory, assert_one_line_error
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated

#: keys of SIGRC payloads whose values are personal data or content
PERSONAL_KEYS = frozenset({"cpf", "nome", "email", "telefone", "logradouro", "texto", "cep"})


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(requests=6, seed=611, hard_case_rate=0.0)


@pytest.fixture
def bridge(
    sigrc: RunningSimulator,
    sei_sandbox: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> Bridge:
    """An installation on a database that does not exist yet."""
    return bridge_factory(sigrc, sei_sandbox, sqlite_url)


def _path(bridge: Bridge) -> Path:
    return Path(bridge.env["SEI_BRIDGE_DATABASE_URL"].removeprefix("sqlite:///"))


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    return result


def _check(bridge: Bridge) -> tuple[int, dict[str, Any]]:
    result = bridge.run("db", "check", "--json")
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_db_check_tells_each_state_apart_by_exit_code(bridge: Bridge) -> None:
    path = _path(bridge)
    code, report = _check(bridge)
    assert (code, report["state"]) == (6, "missing")
    assert "sei-bridge migrate" in report["problem"]
    assert not path.exists()

    path.touch(0o600)
    assert _check(bridge)[0] == 5  # empty

    store = Store.from_url(f"sqlite:///{path}", pool_size=1)
    try:
        store.migrate(to="0001")
    finally:
        store.close()
    code, report = _check(bridge)
    assert (code, report["state"], report["revisions"]) == (3, "older", ["0001"])
    text = bridge.run("db", "check")
    assert "revision 0001, older than" in text.stdout and "run `sei-bridge migrate`" in text.stdout

    assert "migrated from 0001" in _ok(bridge.run("migrate")).stdout
    assert "already current" in _ok(bridge.run("migrate")).stdout
    assert _check(bridge)[0] == 0

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
        assert _check(bridge)[0] == 4  # newer
        assert_one_line_error(bridge.run("migrate"), "revision 0099", "upgrade sei-bridge")
        assert_one_line_error(bridge.run("status"), "revision 0099", "upgrade sei-bridge")
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE alembic_version"))
        assert _check(bridge)[0] == 7  # not a sei-bridge database
    finally:
        engine.dispose()


def test_commands_refuse_a_missing_database_in_one_line_and_create_nothing(
    bridge: Bridge,
) -> None:
    for command in (
        ("sync", "--until-idle"),
        ("status",),
        ("audit", "verify"),
        ("audit", "export"),
        ("replay", "--all"),
        ("run",),
    ):
        result = bridge.run(*command, timeout=60)
        assert_one_line_error(result, "does not exist", "SEI_BRIDGE_DATABASE_URL", "migrate")
        assert not _path(bridge).exists(), command
    assert not list(_path(bridge).parent.glob(_path(bridge).name + "*"))


def test_an_older_database_is_refused_and_left_at_its_revision(bridge: Bridge) -> None:
    store = Store.from_url(bridge.env["SEI_BRIDGE_DATABASE_URL"], pool_size=1)
    try:
        store.migrate(to="0001")
    finally:
        store.close()
    for command in (("status",), ("sync", "--until-idle"), ("audit", "verify")):
        assert_one_line_error(bridge.run(*command), "revision 0001", "run `sei-bridge migrate`")
    assert _check(bridge)[1]["revisions"] == ["0001"]  # nobody but migrate upgrades it


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_migrations_at_once_both_succeed(
    bridge_factory: BridgeFactory,
    sigrc: RunningSimulator,
    sei_sandbox: RunningSandbox,
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "postgres_schema_url")
    bridge = bridge_factory(sigrc, sei_sandbox, url)
    first, second = bridge.start("migrate", log_name="m1"), bridge.start("migrate", log_name="m2")
    assert (first.wait(60), second.wait(60)) == (0, 0), [
        (bridge.workdir / f"{n}.err").read_text() for n in ("m1", "m2")
    ]
    assert _check(bridge)[0] == 0


def _digest(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_size


def _personal_values(sigrc: RunningSimulator) -> set[str]:
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.lower() in PERSONAL_KEYS and len(value) >= 5:
            found.add(value)

    for event in sigrc.state.written:
        walk(event.payload())
    return found


@pytest.fixture
def synced(bridge: Bridge) -> Iterator[Bridge]:
    """The installation after a real sync (a trail of a few hundred entries), its database
    file made read-only."""
    migrated(bridge.env["SEI_BRIDGE_DATABASE_URL"])
    _ok(bridge.run("sync", "--until-idle"))
    os.chmod(_path(bridge), 0o400)
    try:
        yield bridge
    finally:
        os.chmod(_path(bridge), 0o600)


def test_read_only_commands_leave_the_sqlite_file_byte_identical(synced: Bridge) -> None:
    path = _path(synced)
    before = _digest(path)
    excerpt = synced.workdir / "excerpt.jsonl"
    verified = _ok(synced.run("audit", "verify", "--json"))
    assert json.loads(verified.stdout)["ok"]
    _ok(synced.run("status"))
    _ok(synced.run("status", "--json"))
    _ok(synced.run("audit", "export", "--output", str(excerpt)))
    _ok(synced.run("db", "check"))
    assert _digest(path) == before


def test_an_exported_period_verifies_alone_and_an_edited_one_names_the_line(
    synced: Bridge, sigrc: RunningSimulator
) -> None:
    excerpt = synced.workdir / "excerpt.jsonl"
    exported = _ok(
        synced.run(
            "audit",
            "export",
            "--from",
            "2000-01-01",
            "--to",
            "2999-01-01T00:00:00Z",
            "--output",
            str(excerpt),
        )
    )
    assert "verify with `sei-bridge audit verify --file" in exported.stdout
    lines = excerpt.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["entries"] == len(lines) - 1 > 50
    trail = json.loads(_ok(synced.run("audit", "verify", "--json")).stdout)
    assert header["last_hash"] == header["head_hash"] == trail["head_hash"]

    alone = synced.run("audit", "verify", "--file", str(excerpt), "--database-url", "sqlite:///x")
    assert _ok(alone).stdout.startswith(f"audit excerpt intact: {header['entries']} entries")
    assert not (synced.workdir / "x").exists()  # no database opened, none created

    # the trail and the excerpt carry protocolos and ids, never what citizens wrote or are
    personal = _personal_values(sigrc)
    assert len(personal) > 10
    text = excerpt.read_text(encoding="utf-8")
    assert not {value for value in personal if value in text}
    assert any(p in text for p in sigrc.state.protocolos())

    entry = json.loads(lines[7])
    entry["actor"] = "someone-else"
    lines[7] = json.dumps(entry) + "\n"
    excerpt.write_text("".join(lines), encoding="utf-8")
    broken = synced.run("audit", "verify", "--file", str(excerpt))
    assert broken.returncode == 1, broken.stderr
    assert f"BROKEN at line 8 (entry {entry['id']})" in broken.stdout


def test_bad_export_arguments_are_one_line_each(synced: Bridge) -> None:
    result = synced.run("audit", "export", "--from", "2026-12-01T09:00")
    assert result.returncode == 2 and "has no time zone" in result.stderr
    assert "Traceback" not in result.stderr
    result = synced.run("audit", "export", "--from", "2026-12-02", "--to", "2026-12-01")
    assert_one_line_error(result, "--from must be before --to")
    missing = synced.run("audit", "verify", "--file", str(synced.workdir / "absent.jsonl"))
    assert_one_line_error(missing, "cannot read the excerpt")
