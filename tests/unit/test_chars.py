"""What may travel where (sei_bridge.chars), and the operator's views built with it: no control
character from SIGRC or SEI reaches a terminal or a log line raw."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from sei_bridge import chars, logs
from sei_bridge.commands import _common
from sei_bridge.store.types import (
    ActionKind,
    ActionState,
    AttentionEntry,
    QuarantineEntry,
    StatusReport,
)

T0 = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
HOSTILE = "a\x1b[2J\r\n2026 INFO forged\x00\x9b31m\u202e\ud800"
RAW = ("\x1b", "\r", "\n", "\x00", "\x9b", "\u202e", "\ud800")


def test_xml_forbidden_characters_are_found_and_dropped_and_nothing_else() -> None:
    keep = "tab\there\nnova linha\r ção € 😀 \x7f\x85 \ufffd"
    assert chars.xml_forbidden(keep) is None
    assert chars.without_xml_forbidden(keep) == keep
    for bad in ("\x00", "\x08", "\x0b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"):
        assert chars.xml_forbidden(f"x{bad}") == bad
        assert chars.without_xml_forbidden(f"a{bad}b") == "ab"


def test_escape_controls_keeps_the_text_on_one_line_and_readable() -> None:
    shown = chars.escape_controls(HOSTILE)
    assert not any(c in shown for c in RAW)
    assert shown == "a\\x1b[2J\\x0d\\x0a2026 INFO forged\\x00\\x9b31m\\u202e\\ud800"
    assert chars.escape_controls("Interação nº 5 — ok") == "Interação nº 5 — ok"


def _report() -> StatusReport:
    return StatusReport(
        generated_at=T0,
        inbox={},
        actions={},
        requests={},
        in_flight=0,
        oldest_due_at=None,
        quarantine=(QuarantineEntry("event", HOSTILE, HOSTILE, HOSTILE, T0, id_evento=HOSTILE),),
        attention=(
            AttentionEntry(
                1, HOSTILE, ActionKind.OPEN, ActionState.UNCERTAIN, 2, HOSTILE, {"x": HOSTILE}, T0
            ),
        ),
    )


def test_status_text_shows_rather_than_obeys_what_was_stored() -> None:
    text = _report().to_text()
    assert not any(c in text for c in RAW if c != "\n")
    assert "2026 INFO forged" not in [line.strip() for line in text.splitlines()]
    assert "forged" in text


def test_status_json_escapes_what_json_dumps_leaves_raw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _report().to_dict()
    _common.emit_json(data)
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW if c != "\n")
    assert json.loads(out)["quarantine"][0]["reason"] == HOSTILE


def test_log_lines_stay_one_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.OneLineFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.chars")
    logger.addHandler(handler)
    try:
        logger.warning("SIGRC said: %s", HOSTILE)
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    assert not any(c in line for c in RAW)
    assert line.startswith("WARNING SIGRC said: a\\x1b[2J")
