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
    "canonical_json",
    "chain",
    "entry_hash",
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
            f"AUDIT TRAIL BROKEN at entry {self.first_bad_id}: {self.problem}\n"
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


def verify(entries: Iterable[AuditEntry], *, head_id: int, head_hash: str) -> AuditVerification:
    """Recompute the chain over ``entries`` (in position order) and compare with the head.

    Stops at the first problem: an entry whose content no longer matches its hash (edited), a
    position out of sequence (deleted or inserted entries), an entry that does not link to the
    one before it (replaced), or a chain that does not end at the head (cut off or extended).
    """
    expected_id = 1
    prev_hash = GENESIS_HASH
    count = 0
    for entry in entries:
        count += 1

        def bad(problem: str, at_id: int, n: int = count) -> AuditVerification:
            return AuditVerification(False, n, at_id, problem, head_hash)

        if entry.id != expected_id:
            if entry.id > expected_id:
                return bad(f"entry {expected_id} is missing (next found: {entry.id})", expected_id)
            return bad(f"entry {entry.id} is out of order or duplicated", entry.id)
        if entry.prev_hash != prev_hash:
            return bad(
                f"entry {entry.id} does not link to entry {entry.id - 1}: one of them was replaced",
                entry.id,
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
            return bad(
                f"entry {entry.id} was altered: its content does not match its hash", entry.id
            )
        prev_hash = entry.hash
        expected_id += 1
    last_id = expected_id - 1
    if last_id != head_id or prev_hash != head_hash:
        if last_id < head_id:
            problem = f"entries {last_id + 1}..{head_id} are missing from the end of the chain"
            return AuditVerification(False, count, last_id + 1, problem, head_hash)
        if last_id > head_id:
            problem = f"entries after {head_id} are not recorded in the head: appended outside"
            return AuditVerification(False, count, head_id + 1, problem, head_hash)
        problem = f"entry {last_id} is not the entry the head records: the end was replaced"
        return AuditVerification(False, count, last_id, problem, head_hash)
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
