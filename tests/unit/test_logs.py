"""sei_bridge.logs: JSON lines with context fields, times with their zone, repeats collapsed,
scheduler chatter at DEBUG, exception chains without their messages unless DEBUG."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from sei_bridge import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Root logging configured by logs.configure into a StringIO (restored afterwards)."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    out = io.StringIO()
    yield out
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


def _configure(out: io.StringIO, level: str, fmt: str) -> None:
    logs.configure(level, fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)


def test_json_lines_carry_the_context_fields(stream: io.StringIO) -> None:
    _configure(stream, "INFO", "json")
    logs.set_worker("host:1:abc")
    log = logging.getLogger("sei_bridge.test")
    outer = logs.context(protocolo="2026-0001", action_id=7, kind="OPEN", attempt=2)
    with outer, logs.context(operation="gerarProcedimento"):
        log.warning("SEI said: %s", "a\x1b[2Jb\nforged line")
    log.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "SEI said: a\x1b[2Jb\nforged line"
    assert first["level"] == "WARNING" and first["logger"] == "sei_bridge.test"
    assert {k: first[k] for k in logs.CONTEXT_FIELDS} == {
        "worker": "host:1:abc",
        "protocolo": "2026-0001",
        "action_id": 7,
        "kind": "OPEN",
        "operation": "gerarProcedimento",
        "attempt": 2,
    }
    # raw controls never reach the line (json escapes them)
    assert "\x1b" not in stream.getvalue()
    assert dt.datetime.fromisoformat(first["time"]).utcoffset() is not None
    assert "protocolo" not in second and second["worker"] == "host:1:abc"


def test_context_is_per_thread(stream: io.StringIO) -> None:
    _configure(stream, "INFO", "json")
    log = logging.getLogger("sei_bridge.test")
    with logs.context(protocolo="A"):
        thread = threading.Thread(target=lambda: log.warning("in another thread"))
        thread.start()
        thread.join()
    (line,) = stream.getvalue().splitlines()
    assert "protocolo" not in json.loads(line)


def test_text_lines_have_the_time_zone_and_stay_one_line(stream: io.StringIO) -> None:
    _configure(stream, "INFO", "text")
    logging.getLogger("sei_bridge.test").warning("SIGRC said: %s", "x\r\ny")
    (line,) = stream.getvalue().splitlines()
    stamp, level, name, message = line.split(" ", 3)
    assert dt.datetime.fromisoformat(stamp).utcoffset() is not None
    assert (level, name, message) == ("WARNING", "sei_bridge.test", "SIGRC said: x\\x0d\\x0ay")


def _raise_chain() -> None:
    try:
        raise KeyError("cpf 123.456.789-09")
    except KeyError as exc:
        raise RuntimeError("statement parameters: cpf 123.456.789-09") from exc


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_exception_shows_its_chain_not_its_messages_unless_debug(
    stream: io.StringIO, fmt: str
) -> None:
    _configure(stream, "INFO", fmt)
    try:
        _raise_chain()
    except RuntimeError:
        logging.getLogger("sei_bridge.test").exception("job failed")
    out = stream.getvalue()
    assert len(out.splitlines()) == 1
    assert "RuntimeError <- KeyError" in out
    assert "123.456.789-09" not in out and "Traceback" not in out


def test_debug_shows_the_traceback(stream: io.StringIO) -> None:
    _configure(stream, "DEBUG", "text")
    try:
        _raise_chain()
    except RuntimeError:
        logging.getLogger("sei_bridge.test").exception("job failed")
    assert "Traceback" in stream.getvalue() and "KeyError" in stream.getvalue()


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_warning_is_written_once_per_window_with_the_count() -> None:
    clock = _Clock()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(logs.RepeatFilter(window=60, clock=clock))
    log = logging.getLogger("sei_bridge.test.repeat")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        for n in range(114):
            clock.now = n
            log.warning("attachment %s refused", f"a{n}")
        log.info("info is never collapsed")
        log.info("info is never collapsed")
        log.error("another template is its own")
        clock.now = 200
        log.warning("attachment %s refused", "late")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert out.getvalue().splitlines() == [
        "WARNING attachment a0 refused",
        "WARNING attachment a60 refused (and 59 more like it in the last 60 s)",
        "INFO info is never collapsed",
        "INFO info is never collapsed",
        "ERROR another template is its own",
        "WARNING attachment late refused (and 53 more like it in the last 140 s)",
    ]


def test_scheduler_chatter_is_debug(stream: io.StringIO) -> None:
    _configure(stream, "INFO", "text")
    chatter = logging.getLogger("apscheduler.executors.default")
    chatter.info('Running job "poll" (scheduled at now)')
    chatter.warning("Run time of job was missed")
    assert stream.getvalue().count("\n") == 1 and "missed" in stream.getvalue()
    _configure(stream, "DEBUG", "text")
    chatter.info('Running job "poll" (scheduled at now)')
    assert ' DEBUG apscheduler.executors.default Running job "poll"' in stream.getvalue()
