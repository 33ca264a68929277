"""The hash-chained audit log: what makes every state change verifiable by an auditor.

Each entry's hash is ``sha256(prev_hash + "\\n" + canonical JSON of the entry)``, where the
canonical JSON holds the entry's position, time, actor, subject, event and details with sorted
keys and no insignificant whitespace. Entry ``n`` stores the hash of entry ``n - 1`` (entry 1
stores :data:`GENESIS_HASH`), and the store keeps the last position and hash in a one-row head.
So an entry edited in place no longer matches its hash, a deleted or inserted entry breaks the
positions or the links, and entries cut off the end no longer reach the head. :func:`verify`
reports the first such break.

A chain rewritten whole from some point on, head included, is only detectable against a copy of
an earlier head: auditors should record ``head_hash`` from ``sei-bridge audit verify`` now and
then (a printed report, a ticket) and compare.

The trail holds NO personal data: protocolos, event ids, action ids, kinds, states, SEI numbers
and reasons only. :func:`chain` refuses details with keys that usually carry personal data, and
:func:`pseudonym` gives a keyed hash for the rare case where something identifying must be
correlated across entries.

This module is pure (no I/O): the store persists the entries and serialises appends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditRecord",
    "AuditVerification",
    "ChainBreak",
    "ChainWalk",
    "canonical_json",
    "chain",
    "entry_hash",
    "first_break",
    "pseudonym",
    "verify",
]

#: prev_hash of the first entry
GENESIS_HASH = "0" * 64

# Keys that would carry personal data or document content; the engine must not put them in
# audit details (use pseudonym() for an identifier that must be correlated).
_FORBIDDEN_KEYS = frozenset(
    {
        "cpf",
        "cnpj",
        "nome",
        "name",
        "email",
        "telefone",
        "phone",
        "endereco",
        "address",
        "logradouro",
        "cep",
        "municipe",
        "texto",
        "text",
        "conteudo",
        "content",
        "descricao",
        "motivo",
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audit entry before it is placed in the chain."""

    #: who did it: a worker id, "poller", "planner", or the operator's name for replay/resolve
    actor: str
    #: what it concerns: a protocolo, or "feed" / "event:<id_evento>" when there is none
    subject: str
    #: what happened, dotted: "action.done", "event.planned", "operator.replay", ...
    event: str
    #: facts: ids, kinds, states, SEI numbers, reasons. JSON-serialisable, no personal data.
    details: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the chain, as stored."""

    id: int
    at: dt.datetime
    actor: str
    subject: str
    event: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": _time(self.at),
            "actor": self.actor,
            "subject": self.subject,
            "event": self.event,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class AuditVerification:
    """The result of :func:`verify`."""

    ok: bool
    #: entries read
    entries: int
    #: the position of the first entry found altered, missing or out of place
    first_bad_id: int | None
    #: one line: what is wrong there
    problem: str | None
    #: the head hash the chain ends in (record it to detect a later rewrite)
    head_hash: str
    #: the 1-based position (row, in chain order) where the problem was found
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """A human-readable verdict for ``sei-bridge audit verify`` (ends with a newline)."""
        if self.ok:
            return (
                f"audit trail intact: {self.entries} entries verified\n"
                f"head hash: {self.head_hash} (record it to detect a later rewrite)\n"
            )
        return (
            f"AUDIT TRAIL BROKEN at entry {self.first_bad_id} (position {self.position}): "
            f"{self.problem}\n"
            f"entries read: {self.entries}; head hash: {self.head_hash}\n"
        )


def _time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(
    *, id: int, at: dt.datetime, actor: str, subject: str, event: str, details: Mapping[str, Any]
) -> str:
    """The exact text an entry's hash covers."""
    body = {
        "id": id,
        "at": _time(at),
        "actor": actor,
        "subject": subject,
        "event": event,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    *,
    id: int,
    at: dt.datetime,
    actor: str,
    subject: str,
    event: str,
    details: Mapping[str, Any],
) -> str:
    """sha256 (hex) over the previous hash and the entry's canonical JSON."""
    text = canonical_json(id=id, at=at, actor=actor, subject=subject, event=event, details=details)
    return hashlib.sha256(f"{prev_hash}\n{text}".encode()).hexdigest()


def _check_details(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit details key at {path} must be a string")
            if key.lower() in _FORBIDDEN_KEYS:
                raise ValueError(
                    f"audit details may not carry {path}.{key}: no personal data or content in "
                    "the audit trail (use audit.pseudonym for an identifier)"
                )
            _check_details(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_details(item, f"{path}[{i}]")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError(f"audit details at {path} must be JSON (str, number, bool, list, dict)")


def chain(
    records: Sequence[AuditRecord], *, head_id: int, head_hash: str, at: dt.datetime
) -> list[AuditEntry]:
    """Place ``records`` after the head (position ``head_id``, hash ``head_hash``).

    Details are normalised to plain JSON (tuples become lists) so that the hash covers exactly
    what the database will give back. Raises ValueError for details with personal-data keys or
    values that are not JSON.
    """
    entries = []
    prev_id, prev_hash = head_id, head_hash
    for record in records:
        _check_details(record.details, "details")
        try:
            details = json.loads(json.dumps(record.details, allow_nan=False))
        except ValueError:
            raise ValueError("audit details must not hold NaN or infinity") from None
        entry_id = prev_id + 1
        digest = entry_hash(
            prev_hash,
            id=entry_id,
            at=at,
            actor=record.actor,
            subject=record.subject,
            event=record.event,
            details=details,
        )
        entries.append(
            AuditEntry(
                id=entry_id,
                at=at,
                actor=record.actor,
                subject=record.subject,
                event=record.event,
                details=details,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_id, prev_hash = entry_id, digest
    return entries


#: how many recent hashes :func:`first_break` remembers to recognise entries inserted in the
#: middle of the chain (an entry that links to one further back than its predecessor)
_RECENT_HASHES = 4096
#: how far from its position :func:`first_break` looks for the position an entry was moved from
_MOVED_WINDOW = 64


@dataclasses.dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first problem :func:`first_break` found."""

    #: 1-based position among the entries read (the row, or the excerpt's entry line)
    position: int
    #: the chain position (entry id) of the first entry found altered, missing or out of place
    entry_id: int
    #: one line: what is wrong there
    problem: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChainWalk:
    """What :func:`first_break` read: how many entries, where the chain ended, the break."""

    count: int
    last_id: int
    last_hash: str
    broken: ChainBreak | None


def _moved_from(entry: AuditEntry) -> int | None:
    """The position whose hash ``entry``'s content matches, if not its own (it was moved)."""
    for candidate in range(max(1, entry.id - _MOVED_WINDOW), entry.id + _MOVED_WINDOW + 1):
        if candidate == entry.id:
            continue
        digest = entry_hash(
            entry.prev_hash,
            id=candidate,
            at=entry.at,
            actor=entry.actor,
            subject=entry.subject,
            event=entry.event,
            details=entry.details,
        )
        if digest == entry.hash:
            return candidate
    return None


def _check_entry(
    entry: AuditEntry,
    position: int,
    expected_id: int,
    prev_hash: str,
    recent: Mapping[str, tuple[int, int]],
) -> ChainBreak | None:
    """The problem with ``entry`` read at ``position`` (see :func:`first_break`), if any."""
    if entry.id != expected_id:
        if entry.id > expected_id:
            return ChainBreak(
                position,
                expected_id,
                f"entry {expected_id} is missing: removed (the entry found in its place is "
                f"{entry.id})",
            )
        return ChainBreak(
            position,
            entry.id,
            f"entry {entry.id} appears again at position {position} after entry "
            f"{expected_id - 1}: duplicated or moved",
        )
    if entry.prev_hash != prev_hash:
        linked = recent.get(entry.prev_hash)
        if linked is not None:
            linked_id, linked_position = linked
            return ChainBreak(
                linked_position + 1,
                linked_id + 1,
                f"entries {linked_id + 1}..{entry.id - 1} were inserted: entry {entry.id} "
                f"links to entry {linked_id}, not to entry {entry.id - 1}",
            )
        moved = _moved_from(entry)
        if moved is not None:
            return ChainBreak(
                position,
                entry.id,
                f"entry {entry.id} holds the content of entry {moved}: the trail was reordered",
            )
        return ChainBreak(
            position,
            entry.id,
            f"entry {entry.id} does not link to entry {entry.id - 1} (its prev_hash is not "
            "that entry's hash): entries were reordered or replaced here",
        )
    digest = entry_hash(
        entry.prev_hash,
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        subject=entry.subject,
        event=entry.event,
        details=entry.details,
    )
    if digest != entry.hash:
        return ChainBreak(
            position, entry.id, f"entry {entry.id} was altered: its content does not match its hash"
        )
    return None


def first_break(entries: Iterable[AuditEntry], *, first_id: int, prev_hash: str) -> ChainWalk:
    """Walk ``entries`` (in position order), expected to start at position ``first_id`` and to
    link to ``prev_hash``; stop at the first entry edited, removed, inserted or reordered.

    - a position out of sequence: an entry removed (the next one found further on) or
      repeated / moved back;
    - an entry that links to an earlier entry than its predecessor: the entries between were
      inserted (renumbering the rest);
    - an entry that links to no entry read so far: moved here from another position (named
      when its content matches that position's hash), or its neighbour was replaced;
    - an entry whose content no longer matches its hash: edited.
    """
    expected_id = first_id
    last_hash = prev_hash
    recent: dict[str, tuple[int, int]] = {prev_hash: (first_id - 1, 0)}
    order: list[str] = [prev_hash]
    count = 0
    for entry in entries:
        count += 1
        broken = _check_entry(entry, count, expected_id, last_hash, recent)
        if broken is not None:
            return ChainWalk(count, expected_id - 1, last_hash, broken)
        last_hash = entry.hash
        recent[last_hash] = (entry.id, count)
        order.append(last_hash)
        if len(order) > _RECENT_HASHES:
            del recent[order.pop(0)]
        expected_id += 1
    return ChainWalk(count, expected_id - 1, last_hash, None)


def verify(entries: Iterable[AuditEntry], *, head_id: int, head_hash: str) -> AuditVerification:
    """Recompute the chain over ``entries`` (in position order) and compare with the head.

    Stops at the first problem (see :func:`first_break`), or a chain that does not end at the
    head (cut off, or extended outside the store).
    """
    walk = first_break(entries, first_id=1, prev_hash=GENESIS_HASH)
    if walk.broken is not None:
        b = walk.broken
        return AuditVerification(False, walk.count, b.entry_id, b.problem, head_hash, b.position)
    last_id, count = walk.last_id, walk.count
    if last_id != head_id or walk.last_hash != head_hash:
        if last_id < head_id:
            problem = f"entries {last_id + 1}..{head_id} are missing from the end of the chain"
            return AuditVerification(False, count, last_id + 1, problem, head_hash, count + 1)
        if last_id > head_id:
            problem = (
                f"entries {head_id + 1}..{last_id} are not recorded in the head: inserted "
                "outside sei-bridge"
            )
            position = count - (last_id - head_id) + 1
            return AuditVerification(False, count, head_id + 1, problem, head_hash, position)
        problem = f"entry {last_id} is not the entry the head records: the end was replaced"
        return AuditVerification(False, count, last_id, problem, head_hash, count)
    return AuditVerification(True, count, None, None, head_hash)


def pseudonym(value: str, key: str | bytes) -> str:
    """A keyed hash (HMAC-SHA256, 32 hex digits) of an identifying value such as a CPF.

    The same value gives the same pseudonym under one key, so entries can be correlated, but the
    value cannot be recovered or confirmed without the key (``SEI_BRIDGE_AUDIT_KEY``). A plain
    hash would not do: there are only 10^9 CPFs, so an unkeyed hash is reversed by enumeration.
    """
    if not key:
        raise ValueError("pseudonym needs a key: set SEI_BRIDGE_AUDIT_KEY")
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, value.encode(), hashlib.sha256).hexdigest()[:32]
