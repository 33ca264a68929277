"""``sei-bridge`` against a hostile SIGRC (real HTTP, a subprocess each run): what it cannot read
is a transient fault logged in one line, run after run, never a traceback; what it shows an
operator never carries a raw control character."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from sei_bridge.sandboxes.sei import RunningSandbox
from tests.acceptance.conftest import Bridge, BridgeFactory, assert_one_line_error
from tests.support.db import migrated
from tests.support.hostile_http import Answer, HostileServer, json_answer
from tests.unit.sigrc import raw

EVENTOS = "/sigrc/v1/eventos"
#: what a terminal would obey: ESC sequences, a carriage return, a forged line, NUL, a CSI
RAW_CONTROLS = ("\x1b", "\r", "\x00", "\x9b", "\u202e")


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def _bridge(
    bridge_factory: BridgeFactory, hostile: HostileServer, sei: RunningSandbox, url: str
) -> Bridge:
    sigrc = SimpleNamespace(base_url=hostile.url + "/sigrc", token="hostile-token")
    return bridge_factory(sigrc, sei, migrated(url))


def _sync(bridge: Bridge) -> subprocess.CompletedProcess[str]:
    return bridge.run(
        "sync", "--until-idle", "--max-seconds", "2", env={"SEI_BRIDGE_LOG_LEVEL": "WARNING"}
    )


def _assert_no_raw_controls(text: str) -> None:
    for control in RAW_CONTROLS:
        assert control not in text, (control, text)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,  # RecursionError in json
        b'{"eventos": [], "ha_mais": false, "atraso_maximo_segundos": 0, "x": "\xc3\x28"}',
        b'"just a string"',
    ],
    ids=["deep", "not-utf8", "not-an-object"],
)
def test_an_unreadable_feed_page_is_a_one_line_transient_fault_on_every_run(
    bridge_factory: BridgeFactory,
    hostile: HostileServer,
    sei_sandbox: RunningSandbox,
    sqlite_url: str,
    body: bytes,
) -> None:
    hostile.script(EVENTOS, Answer(200, body))
    bridge = _bridge(bridge_factory, hostile, sei_sandbox, sqlite_url)
    for _ in range(2):  # the same on the next run: nothing stuck, nothing crashed
        result = _sync(bridge)
        assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        warnings = [ln for ln in result.stderr.splitlines() if "feed poll failed" in ln]
        assert warnings and all("SIGRC answered" in w for w in warnings)
        assert "time limit reached (SIGRC feed page unreadable" in result.stdout
    assert hostile.hits[EVENTOS] >= 2


def test_control_characters_from_sigrc_never_reach_the_terminal_raw(
    bridge_factory: BridgeFactory,
    hostile: HostileServer,
    sei_sandbox: RunningSandbox,
    sqlite_url: str,
) -> None:
    forged = "\r\n2026-12-03 12:00:00 INFO sei_bridge all good\x1b[2J\x1b]0;pwned\x07"
    hostile.script(
        EVENTOS,
        json_answer(
            {
                "eventos": [
                    {**raw.evento(1), "tipo": "solicitacao.registrada" + forged},
                    {**raw.evento(2), "id_evento": "id" + forged, "protocolo": "P" + forged},
                    {**raw.evento(3), "tipo": "solicitacao.nova\x9b31m\u202e"},
                ],
                "ultima_sequencia": 3,
                "ha_mais": False,
                "atraso_maximo_segundos": 0,
            }
        ),
        # then SIGRC refuses, quoting that text in its "erro"
        json_answer({"erro": "apos inválido" + forged}, status=400),
    )
    bridge = _bridge(bridge_factory, hostile, sei_sandbox, sqlite_url)
    refused = _sync(bridge)
    line = assert_one_line_error(refused, "SIGRC rejected GET /v1/eventos with HTTP 400")
    assert "\\x1b[2J" in line
    _assert_no_raw_controls(refused.stderr + refused.stdout)

    status = bridge.run("status")
    assert status.returncode == 0, status.stderr
    _assert_no_raw_controls(status.stdout)
    assert "tipo: holds a control character (U+000D)" in status.stdout
    assert "quarantine: 3" in status.stdout
    as_json = bridge.run("status", "--json")
    _assert_no_raw_controls(as_json.stdout)
    reasons = {q["reason"] for q in json.loads(as_json.stdout)["quarantine"]}
    assert "protocolo: holds a control character (U+000D)" not in reasons  # id is checked first
    assert "id_evento: holds a control character (U+000D)" in reasons
    assert "tipo: holds a control character (U+009B)" in reasons
