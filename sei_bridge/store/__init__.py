"""The durable store: inbox, feed cursor, requests, action ledger and audit chain.

SQLAlchemy 2 over SQLite (embedded, one process) or PostgreSQL (several workers), with Alembic
migrations shipped in the package. All SQL of sei-bridge lives in this package; callers get
frozen dataclasses. See docs/internals.md for the contract with the engine.
"""

from __future__ import annotations

from sei_bridge.audit import AuditEntry, AuditVerification
from sei_bridge.store.store import DEFAULT_CURSOR, Store, TimeLike
from sei_bridge.store.types import (
    CLAIMABLE_STATES,
    RESULT_ID_PROCEDIMENTO,
    RESULT_LINK_ACESSO,
    RESULT_PROCEDIMENTO_FORMATADO,
    Action,
    ActionKind,
    ActionState,
    AttentionEntry,
    InboxEvent,
    InboxState,
    LedgerEntry,
    NewAction,
    PayloadFormat,
    QuarantineEntry,
    RequestRow,
    RequestState,
    RequestUpdate,
    StatusReport,
)

__all__ = [
    "CLAIMABLE_STATES",
    "DEFAULT_CURSOR",
    "RESULT_ID_PROCEDIMENTO",
    "RESULT_LINK_ACESSO",
    "RESULT_PROCEDIMENTO_FORMATADO",
    "Action",
    "ActionKind",
    "ActionState",
    "AttentionEntry",
    "AuditEntry",
    "AuditVerification",
    "InboxEvent",
    "InboxState",
    "LedgerEntry",
    "NewAction",
    "PayloadFormat",
    "QuarantineEntry",
    "RequestRow",
    "RequestState",
    "RequestUpdate",
    "StatusReport",
    "Store",
    "TimeLike",
]
