"""Audit excerpts: a period of the hash-chained trail as JSON lines that verify on their own.

``sei-bridge audit export --from T --to T`` writes, for archiving or for an auditor without
access to the database:

- line 1, the header: ``{"format": "sei-bridge-audit-excerpt", "version": 1, "from", "to",
  "first_id", "last_id", "entries", "prev_hash", "last_hash", "head_id", "head_hash",
  "exported_at"}``: ``prev_hash`` is the hash of the entry before the first one (the genesis
  hash when the excerpt starts the trail), ``last_hash`` the hash of its last entry, and
  ``head_id``/``head_hash`` where the whole trail ended at export time;
- then one line per entry, in chain order, exactly as stored: ``id``, ``at``, ``actor``,
  ``subject``, ``event``, ``details``, ``prev_hash``, ``hash``.

An excerpt is the contiguous run of positions from the first entry at or after ``from`` to the
last entry before ``to``: times come from the workers' clocks and need not grow with the
position, so an entry between the two is included whatever its time (a gap would make the
excerpt unverifiable).

:func:`verify_lines` (``sei-bridge audit verify --file``) recomputes every hash from the
header's ``prev_hash`` on and checks that the excerpt ends at ``last_hash`` with ``entries``
entries: an edited, removed, inserted or reordered line is named by its line number. What it
cannot know alone is that ``prev_hash`` and ``last_hash`` are the trail's own: compare them with
the previous excerpt's ``last_hash``, or with the trail (``sei-bridge audit verify`` prints the
head hash), to chain excerpts into a verified archive.

The trail holds no personal data (see :mod:`sei_bridge.audit`), so neither do excerpts. Pure
functions: the store reads the entries, the command writes the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sei_bridge import audit

__all__ = [
    "FORMAT",
    "VERSION",
    "ExcerptHeader",
    "ExcerptVerification",
    "entry_line",
    "header_line",
    "verify_lines",
]

#: the header's ``format``
FORMAT = "sei-bridge-audit-excerpt"
#: the header's ``version``
VERSION = 1

_HEX = "0123456789abcdef"
_ENTRY_KEYS = frozenset({"id", "at", "actor", "subject", "event", "details", "prev_hash", "hash"})


@dataclasses.dataclass(frozen=True, slots=True)
class ExcerptHeader:
    """The first line of an excerpt."""

    #: the period asked for: entries at or after ``start`` ... (None: from the beginning)
    start: dt.datetime | None
    #: ... and before ``end`` (None: to the end)
    end: dt.datetime | None
    #: positions of the first and last entry (None: the period holds none)
    first_id: int | None
    last_id: int | None
    #: the hash the first entry links to, and the hash of the last one
    prev_hash: str
    last_hash: str
    #: where the whole trail ended at export time
    head_id: int
    head_hash: str
    exported_at: dt.datetime

    @property
    def entries(self) -> int:
        if self.first_id is None or self.last_id is None:
            return 0
        return self.last_id - self.first_id + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "from": _time_or_none(self.start),
            "to": _time_or_none(self.end),
            "first_id": self.first_id,
            "last_id": self.last_id,
            "entries": self.entries,
            "prev_hash": self.prev_hash,
            "last_hash": self.last_hash,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "exported_at": _time_or_none(self.exported_at),
        }


def _time_or_none(at: dt.datetime | None) -> str | None:
    return None if at is None else at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def header_line(header: ExcerptHeader) -> str:
    """The header as one JSON line (with its newline)."""
    return _dumps(header.to_dict()) + "\n"


def entry_line(entry: audit.AuditEntry) -> str:
    """An entry as one JSON line (with its newline), exactly the fields its hash covers plus
    ``prev_hash`` and ``hash``."""
    return _dumps(entry.to_dict()) + "\n"


@dataclasses.dataclass(frozen=True, slots=True)
class ExcerptVerification:
    """The result of :func:`verify_lines`."""

    ok: bool
    #: entry lines read
    entries: int
    #: the 1-based line of the first problem (1 is the header)
    first_bad_line: int | None
    #: the entry id at that line, when there is one
    first_bad_id: int | None
    #: one line: what is wrong there
    problem: str | None
    #: the header's anchors: compare them with the trail or the neighbouring excerpts
    prev_hash: str | None
    last_hash: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """A human-readable verdict (ends with a newline)."""
        if self.ok:
            return (
                f"audit excerpt intact: {self.entries} entries verified\n"
                f"links to prev hash: {self.prev_hash}\n"
                f"ends at last hash:  {self.last_hash} "
                "(compare both with the trail or the neighbouring excerpts)\n"
            )
        where = f"line {self.first_bad_line}"
        if self.first_bad_id is not None:
            where += f" (entry {self.first_bad_id})"
        return f"AUDIT EXCERPT BROKEN at {where}: {self.problem}\n"


class _Bad(Exception):
    def __init__(self, line: int, problem: str, entry_id: int | None = None) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem
        self.entry_id = entry_id


def _hash_field(data: Mapping[str, Any], key: str, line: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) != 64 or value.strip(_HEX):
        raise _Bad(line, f"{key} must be a 64-digit hex sha256")
    return value


def _header(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise _Bad(1, "the header is not JSON: not a sei-bridge audit excerpt") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Bad(1, f"the header lacks format {FORMAT!r}: not a sei-bridge audit excerpt")
    if data.get("version") != VERSION:
        raise _Bad(1, f"excerpt version {data.get('version')!r}: this sei-bridge reads {VERSION}")
    _hash_field(data, "prev_hash", 1)
    _hash_field(data, "last_hash", 1)
    for key in ("first_id", "last_id"):
        if data.get(key) is not None and (
            not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1
        ):
            raise _Bad(1, f"{key} must be a positive integer or null")
    if not isinstance(data.get("entries"), int) or data["entries"] < 0:
        raise _Bad(1, "entries must be a count")
    return data


def _entry(text: str, line: int) -> audit.AuditEntry:
    try:
        data = json.loads(text)
    except ValueError:
        raise _Bad(line, "not JSON: the line was cut or edited") from None
    if not isinstance(data, dict) or set(data) != _ENTRY_KEYS:
        raise _Bad(line, f"not an audit entry: expected exactly the keys {sorted(_ENTRY_KEYS)}")
    entry_id = data["id"]
    if not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise _Bad(line, "id must be an integer")
    try:
        at = dt.datetime.fromisoformat(data["at"])
    except (TypeError, ValueError):
        raise _Bad(line, "at must be an ISO 8601 time", entry_id) from None
    if at.tzinfo is None:
        raise _Bad(line, "at must carry its time zone", entry_id)
    for key in ("actor", "subject", "event"):
        if not isinstance(data[key], str):
            raise _Bad(line, f"{key} must be a string", entry_id)
    if not isinstance(data["details"], dict):
        raise _Bad(line, "details must be an object", entry_id)
    return audit.AuditEntry(
        id=entry_id,
        at=at,
        actor=data["actor"],
        subject=data["subject"],
        event=data["event"],
        details=data["details"],
        prev_hash=_hash_field(data, "prev_hash", line),
        hash=_hash_field(data, "hash", line),
    )


def verify_lines(lines: Iterable[str]) -> ExcerptVerification:
    """Verify an excerpt given as its lines (a text file opened for reading will do)."""
    numbered = enumerate(lines, start=1)
    header: dict[str, Any] | None = None
    walk: audit.ChainWalk | None = None
    last_line = 1
    read = 0
    try:
        first = next(numbered, None)
        if first is None:
            raise _Bad(1, "the excerpt is empty: not a sei-bridge audit excerpt")
        header = _header(first[1])

        def entries() -> Iterator[audit.AuditEntry]:
            nonlocal last_line, read
            for number, text in numbered:
                last_line = number
                if not text.strip():
                    raise _Bad(number, "an empty line: the excerpt was edited")
                entry = _entry(text, number)
                read += 1
                yield entry

        first_id = header["first_id"] if header["first_id"] is not None else 1
        walk = audit.first_break(entries(), first_id=first_id, prev_hash=header["prev_hash"])
        if walk.broken is not None:
            raise _Bad(walk.broken.position + 1, walk.broken.problem, walk.broken.entry_id)
        if walk.count != header["entries"] or (walk.count and walk.last_id != header["last_id"]):
            raise _Bad(
                last_line + 1,
                f"the header announces {header['entries']} entries ending at entry "
                f"{header['last_id']}, the excerpt holds {walk.count} ending at entry "
                f"{walk.last_id}: lines were removed from or added to the end",
            )
        if walk.last_hash != header["last_hash"]:
            raise _Bad(
                last_line,
                "the last entry's hash is not the header's last_hash: the end was replaced",
                walk.last_id or None,
            )
    except _Bad as bad:
        return ExcerptVerification(
            ok=False,
            entries=read,
            first_bad_line=bad.line,
            first_bad_id=bad.entry_id,
            problem=bad.problem,
            prev_hash=None if header is None else header.get("prev_hash"),
            last_hash=None if header is None else header.get("last_hash"),
        )
    return ExcerptVerification(
        ok=True,
        entries=walk.count,
        first_bad_line=None,
        first_bad_id=None,
        problem=None,
        prev_hash=header["prev_hash"],
        last_hash=header["last_hash"],
    )
