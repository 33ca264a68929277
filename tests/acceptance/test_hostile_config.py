"""Hostile configuration through the real command: ``sei-bridge`` as a subprocess exits 2 with
one ``sei-bridge: error:`` line that names the variable (or file) and never the secret, for
each class of bad value (issue 9, items 8 and 9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import assert_one_line_error

SECRET = "segredo-do-sigrc-12345"
BOMB = "\n".join(
    ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)


def _run(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEI_BRIDGE_")}
    env.update({f"SEI_BRIDGE_{k.upper()}": v for k, v in variables.items()})
    env.setdefault("SEI_BRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    return subprocess.run(
        [sys.executable, "-m", "sei_bridge.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "needles"),
    [
        ({"lease_seconds": "nan"}, ("SEI_BRIDGE_LEASE_SECONDS='nan' is not a number",)),
        ({"sei_read_timeout": "inf"}, ("SEI_BRIDGE_SEI_READ_TIMEOUT=",)),
        ({"sei_rate_limit": "-3"}, ("SEI_BRIDGE_SEI_RATE_LIMIT='-3' must be at least 0",)),
        ({"sei_concurrency": "100000"}, ("SEI_BRIDGE_SEI_CONCURRENCY=", "from 1 to 64")),
        ({"metrics_port": "65536"}, ("SEI_BRIDGE_METRICS_PORT=", "from 1 to 65535")),
        ({"sigrc_token": f"{SECRET}é"}, ("SEI_BRIDGE_SIGRC_TOKEN (value not shown)",)),
        (
            {"sei_identificacao_servico": f"{SECRET} x"},
            ("SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO (value not shown) holds a space",),
        ),
        ({"sigrc_url": f"file:///{SECRET}"}, ("SEI_BRIDGE_SIGRC_URL (value not shown)",)),
        ({"sei_wsdl": "/dev/zero"}, ("SEI_BRIDGE_SEI_WSDL", "not a regular file")),
        ({"database_url": f"mysql://u:{SECRET}@h/d"}, ("SEI_BRIDGE_DATABASE_URL",)),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else "",
)
def test_a_bad_variable_is_one_line_and_exit_2(
    tmp_path: Path, variables: dict[str, str], needles: tuple[str, ...]
) -> None:
    result = _run(tmp_path, "status", **variables)
    line = assert_one_line_error(result, *needles)
    assert SECRET not in result.stderr and SECRET not in result.stdout, line


def test_an_unwritable_work_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    result = _run(tmp_path, "status", work_dir=str(tmp_path / "plain-file" / "work"))
    assert_one_line_error(result, "SEI_BRIDGE_WORK_DIR=", "cannot be created or written")


@pytest.mark.parametrize("how", ["env", "flag"])
def test_a_bad_log_level_is_one_line(tmp_path: Path, how: str) -> None:
    if how == "env":
        result = _run(tmp_path, "status", log_level="chatty")
        assert_one_line_error(result, "SEI_BRIDGE_LOG_LEVEL is not a log level")
    else:
        result = _run(tmp_path, "--log-level", "chatty", "status")
        assert_one_line_error(result, "--log-level is not a log level")


def test_a_metrics_port_in_use_stops_run_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _run(tmp_path, "run", "--metrics-port", str(port))
    assert_one_line_error(result, f"SEI_BRIDGE_METRICS_PORT={port}", "is in use")


def test_an_alias_bomb_in_the_settings_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(f"sigrc_token: {SECRET}\n{BOMB}\n", encoding="utf-8")
    result = _run(tmp_path, "status", config=str(path))
    assert_one_line_error(result, "SEI_BRIDGE_CONFIG", "anchors are not allowed at line 2")
    assert SECRET not in result.stderr


def test_a_settings_file_syntax_error_never_shows_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(f"sigrc_token: '{SECRET}\n  oops: [\n", encoding="utf-8")
    result = _run(tmp_path, "status", config=str(path))
    assert_one_line_error(result, "SEI_BRIDGE_CONFIG", "is not valid YAML at line")
    assert SECRET not in result.stderr


def test_an_alias_bomb_in_a_mapping_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    result = _run(tmp_path, "mappings", "check", "--offline", mappings=str(folder))
    assert_one_line_error(result, "bomb.yaml: anchors are not allowed at line 1")


def test_an_alias_in_the_schedule_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text("jobs: &j {}\n", encoding="utf-8")
    result = _run(tmp_path, "run", "--schedule", str(path))
    assert_one_line_error(result, "schedule.yaml: anchors are not allowed at line 1")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--processo", "9" * 41], "argument --processo: a process number must be 1 to 40"),
        (["--processo", "6017.2026/1\nFORGED"], "the control character U+000A"),
        (["--id-procedimento", "12; DROP"], "argument --id-procedimento: a SEI id is a number"),
        (["--documento", "1\x1b[2J"], "argument --documento: a document number holds"),
    ],
)
def test_resolve_refuses_a_number_sei_could_not_make(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    result = _run(tmp_path, "resolve", "1", "--done", *args, "--actor", "auditor")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert needle in result.stderr
    assert "FORGED" not in result.stderr and "\x1b" not in result.stderr
