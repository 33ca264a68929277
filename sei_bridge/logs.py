"""Logging as operations read it: one line per record, text or JSON lines, with context fields.

- **Formats.** ``text`` (default): ``2026-12-04T20:51:38.123+00:00 WARNING logger message``, the
  time with its zone. ``json`` (``SEI_BRIDGE_LOG_FORMAT=json``): one JSON object a line with
  ``time``, ``level``, ``logger``, ``message`` and, where known, ``worker``, ``protocolo``,
  ``action_id``, ``kind``, ``operation``, ``attempt`` as fields of their own.
- **Context.** The dispatcher runs each action inside :func:`context` (protocolo, action id,
  kind, attempt) and SEI calls name their operation, so every line logged meanwhile — by any
  module — carries them without each call site repeating them.
- **One line.** Control characters in a message (which may quote what SIGRC or SEI sent) are
  escaped: nobody can forge a line or send the terminal an ESC sequence. A logged exception
  shows the type names of its cause chain; its traceback, with the messages, only at DEBUG.
- **Less noise.** APScheduler's per-run INFO chatter is DEBUG here. The same warning or error
  (same logger and message template) repeated within :data:`REPEAT_WINDOW` seconds is written
  once; the next one after the window says how many were left out.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from sei_bridge import chars

__all__ = [
    "CONTEXT_FIELDS",
    "FORMATS",
    "REPEAT_WINDOW",
    "JsonFormatter",
    "OneLineFormatter",
    "RepeatFilter",
    "configure",
    "context",
    "set_worker",
]

#: the fields a record may carry beyond its message, in the order JSON lines show them
CONTEXT_FIELDS: Final = ("worker", "protocolo", "action_id", "kind", "operation", "attempt")
FORMATS: Final = ("text", "json")
#: seconds within which a repeated warning is written only once
REPEAT_WINDOW: Final = 60.0

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "sei_bridge_log_context", default=MappingProxyType({})
)
_worker: dict[str, str] = {}


def set_worker(name: str) -> None:
    """Name this process's worker on every record from now on."""
    _worker["worker"] = name


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (see :data:`CONTEXT_FIELDS`) to every record logged in this block, in
    this thread (a context variable: pool threads each have their own)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = {**_worker, **_context.get()}
    for name in CONTEXT_FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            found[name] = value
    return found


def _time(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created).astimezone()
    return moment.isoformat(timespec="milliseconds")


def _exception(record: logging.LogRecord) -> str | None:
    """The type names of the record's exception and of its causes (``A <- B``). Never their
    messages: a database driver's or a library's may quote the data it was given (a CPF in a
    statement's parameters); the record's own message says what went wrong, and DEBUG shows
    the whole traceback."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    names: list[str] = []
    exc: BaseException | None = record.exc_info[1]
    while exc is not None and len(names) < 8:
        names.append(type(exc).__name__)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return " <- ".join(names)


class OneLineFormatter(logging.Formatter):
    """``time level logger message [fields]`` on one line, controls escaped; the traceback
    follows on its own lines only when DEBUG is on."""

    def __init__(self, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return chars.escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            return super().formatException(ei)
        return ""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record).rstrip("\n")
        if record.exc_info and not logging.getLogger().isEnabledFor(logging.DEBUG):
            error = _exception(record)
            line = f"{line} ({error})" if error else line
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record (``ensure_ascii``: no raw control or bidi character can
    reach a terminal or a log shipper)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        error = _exception(record)
        if error:
            entry["error"] = error
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                entry["traceback"] = self.formatException(record.exc_info)  # type: ignore[arg-type]
        if record.__dict__.get("repeated"):
            entry["repeated"] = record.__dict__["repeated"]
        return json.dumps(entry, ensure_ascii=True, default=str)


class RepeatFilter(logging.Filter):
    """Writes a repeated warning (same logger, level and message template) once per
    ``window`` seconds; the first one after a window notes how many were left out."""

    def __init__(self, window: float = REPEAT_WINDOW, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        #: (logger, level, template) -> (when last written, how many left out since)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            written, left_out = self._seen.get(key, (float("-inf"), 0))
            if now - written < self._window:
                self._seen[key] = (written, left_out + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 10_000:  # templates are few; a flood of new ones is not kept
                self._seen = {key: (now, 0)}
        if left_out:
            record.repeated = left_out
            record.msg = f"{record.msg} (and {left_out} more like it in the last %.0f s)"
            record.args = (*_args(record), now - written)
        return True


def _args(record: logging.LogRecord) -> tuple[Any, ...]:
    if record.args is None:
        return ()
    return record.args if isinstance(record.args, tuple) else (record.args,)


class _SchedulerChatter(logging.Filter):
    """APScheduler's INFO lines ("Running job", "executed successfully": one a second when
    idle) are DEBUG here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Send every record to standard error, one line each, in ``fmt`` (``text``/``json``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else OneLineFormatter())
    handler.addFilter(RepeatFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # zeep logs whole envelopes (credentials, content) at DEBUG: never let it.
    logging.getLogger("zeep.transports").setLevel(logging.WARNING)
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        chatter = logging.getLogger(name)
        if not any(isinstance(f, _SchedulerChatter) for f in chatter.filters):
            chatter.addFilter(_SchedulerChatter())
