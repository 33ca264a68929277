"""The durable store: the one object the engine and the commands talk to (no SQL outside
``sei_bridge/store``). The contract is docs/internals.md; each method is one transaction.

Times: methods taking ``now`` or ``next_attempt_at`` accept a timezone-aware ``datetime`` or
POSIX seconds (what ``time.time()`` returns); ``None`` means the store's clock. Rows come back
with timezone-aware UTC datetimes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa

from sei_bridge import audit, audit_excerpt
from sei_bridge.sigrc import models
from sei_bridge.sigrc.feed import FeedCursor
from sei_bridge.store import audit_log, inbox, indicators, ledger, lifecycle, locking, operators
from sei_bridge.store.database import DEFAULT_POOL_SIZE, Access, Database
from sei_bridge.store.lifecycle import MIGRATIONS_DIR, SchemaStatus
from sei_bridge.store.types import (
    Action,
    ActionState,
    InboxEvent,
    InboxState,
    LedgerEntry,
    NewAction,
    RequestRow,
    RequestUpdate,
    StatusReport,
)

__all__ = ["DEFAULT_CURSOR", "MIGRATIONS_DIR", "Store", "TimeLike"]

#: the feed cursor's name when the caller gives none
DEFAULT_CURSOR = "sigrc"

TimeLike = dt.datetime | float | int


class Store:
    """Inbox, feed cursor, requests, action ledger and audit chain over SQLite or PostgreSQL."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        clock: Callable[[], float] = time.time,
        access: Access = Access.CREATE,
    ) -> Store:
        """A store on ``sqlite:///PATH`` or ``postgresql+psycopg://…`` (a ``postgresql://`` URL
        gets psycopg 3). ``pool_size``: the dispatcher's threads plus a few. ``access``: may
        the SQLite file be created (the default, for :meth:`migrate`), must it exist, or is the
        store read-only (see :class:`~sei_bridge.store.database.Access`). A new database needs
        :meth:`migrate` before use. To keep a deployment in its own PostgreSQL schema, add
        ``?options=-csearch_path%3DNAME`` to the URL."""
        return cls(Database.from_url(url, pool_size=pool_size, access=access), clock=clock)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for diagnostics and tests; the engine itself never needs it)."""
        return self._db.engine

    def close(self) -> None:
        """Close the pooled connections."""
        self._db.dispose()

    # --- time -----------------------------------------------------------------------------

    def _now(self, value: TimeLike | None = None) -> dt.datetime:
        if value is None:
            value = self._clock()
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store: pass a timezone-aware one")
            return value.astimezone(dt.UTC)
        return dt.datetime.fromtimestamp(float(value), dt.UTC)

    # --- schema ---------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True when the store was opened read-only (every write is refused)."""
        return self._db.read_only

    def migrate(self, *, to: str = "head") -> tuple[SchemaStatus, SchemaStatus]:
        """Upgrade the schema to the latest revision; returns where it stood before and after
        (see :func:`~sei_bridge.store.lifecycle.migrate`: idempotent, one transaction, safe when
        several processes run it at once; ``to``: stop at that revision). Only ``sei-bridge
        migrate`` (and ``demo``, on its own database) calls this: no other command changes the
        schema."""
        return lifecycle.migrate(self._db, to=to)

    def schema_status(self) -> SchemaStatus:
        """Where the database stands against this code's migrations (reads only)."""
        return lifecycle.inspect(self._db)

    def schema_is_current(self) -> bool:
        """True when the database is at the latest migration (for health checks)."""
        return self.schema_status().ok

    # --- feed -----------------------------------------------------------------------------

    def load_cursor(self, name: str = DEFAULT_CURSOR) -> FeedCursor | None:
        """The saved feed cursor, or None before the first batch."""
        with self._db.read("loading the feed cursor") as conn:
            row = inbox.cursor_row(conn, name)
        return None if row is None else FeedCursor.from_json(row.window)

    def record_feed_batch(
        self,
        items: Sequence[models.FeedItem],
        cursor: FeedCursor,
        *,
        cursor_name: str = DEFAULT_CURSOR,
        actor: str = "poller",
    ) -> int:
        """Store each item once by id_evento (Evento PENDING, UnknownEvent SKIPPED,
        QuarantinedEvent QUARANTINED) and save ``cursor`` in the same transaction. Returns the
        number of items that were new."""
        now = self._now()
        with self._db.write("recording a feed batch") as conn:
            return inbox.record_feed_batch(
                conn, items, cursor, cursor_name=cursor_name, now=now, actor=actor
            )

    def settled_events(self, limit: int, *, cursor_name: str = DEFAULT_CURSOR) -> list[InboxEvent]:
        """PENDING events at or below the cursor's watermark, in sequencia order."""
        with self._db.read("reading settled events") as conn:
            return inbox.settled_events(conn, limit=limit, cursor_name=cursor_name)

    def events_of(self, protocolo: str) -> list[InboxEvent]:
        """Every inbox event of a request, any state, in sequencia order."""
        with self._db.read("reading events") as conn:
            return inbox.events_of(conn, protocolo)

    def mark_event(
        self, event_id: int, state: InboxState, reason: str | None = None, *, actor: str = "planner"
    ) -> None:
        """Set an inbox event's state (e.g. SKIPPED with a reason)."""
        now = self._now()
        with self._db.write("marking an event") as conn:
            inbox.mark_event(conn, event_id, state, reason, now=now, actor=actor)

    # --- planning -------------------------------------------------------------------------

    def get_request(self, protocolo: str) -> RequestRow | None:
        with self._db.read("reading a request") as conn:
            return ledger.get_request(conn, protocolo)

    def request_ledger(self, protocolo: str) -> tuple[RequestRow | None, list[LedgerEntry]]:
        """The request row and its actions (narrow, by seq): what the planner reads before
        planning an event of the request (only the planner adds actions to a request)."""
        with self._db.read("reading a request and its ledger") as conn:
            return ledger.get_request(conn, protocolo), ledger.ledger_of(conn, protocolo)

    def set_aside_interacoes(self, protocolo: str, *, before: int) -> list[str | None]:
        """The ``id_interacao`` of each quarantined interação event of the request below
        sequencia ``before`` (None where the payload has none): interactions the feed served
        malformed, which the snapshot must supply before a later one is planned."""
        with self._db.read("reading set-aside interações") as conn:
            return inbox.set_aside_interacoes(conn, protocolo, before=before)

    def plan_event(
        self,
        event_id: int,
        *,
        request: RequestUpdate,
        actions: Sequence[NewAction],
        actor: str = "planner",
    ) -> list[Action]:
        """In one transaction: create or update the request, insert ``actions`` after the
        request's existing ones (in the given order; a natural key (protocolo, kind, source_id)
        already present is ignored), and mark the event PLANNED. Returns the actions inserted."""
        now = self._now()
        with self._db.write("planning an event") as conn:
            return ledger.plan_event(
                conn, event_id, request=request, actions=actions, now=now, actor=actor
            )

    def enqueue_repairs(
        self,
        protocolo: str,
        *,
        servico_codigo: str,
        actions: Sequence[NewAction],
        actor: str = "reconcile",
    ) -> list[Action]:
        """In one transaction: add reconciliation's repair ``actions`` after the request's
        existing ones (creating the request row if needed; a natural key already present is
        ignored, so repeating a repair enqueues it once). Returns the actions inserted."""
        now = self._now()
        with self._db.write("enqueuing repairs") as conn:
            return ledger.enqueue_repairs(
                conn,
                protocolo,
                servico_codigo=servico_codigo,
                actions=actions,
                now=now,
                actor=actor,
            )

    def quarantine_event(
        self, event_id: int, reason: str, *, protocolo: str | None = None, actor: str = "planner"
    ) -> None:
        """Quarantine an event with ``reason``; with ``protocolo``, its request too."""
        now = self._now()
        with self._db.write("quarantining an event") as conn:
            inbox.quarantine_event(
                conn, event_id, reason, protocolo=protocolo, now=now, actor=actor
            )

    # --- ledger ---------------------------------------------------------------------------

    def claim_due_actions(
        self, worker: str, *, limit: int, lease_seconds: float, now: TimeLike | None = None
    ) -> list[Action]:
        """Lease up to ``limit`` due actions, each the head of its request, oldest due first;
        increments their attempts. Concurrent claimers never get the same action."""
        at = self._now(now)
        until = at + dt.timedelta(seconds=lease_seconds)
        with self._db.write("claiming actions") as conn:
            return locking.claim(conn, worker=worker, limit=limit, now=at, lease_until=until)

    def renew_lease(
        self, action_id: int, worker: str, lease_seconds: float, *, now: TimeLike | None = None
    ) -> bool:
        """Extend ``worker``'s lease by ``lease_seconds`` from now; False if it lost it."""
        at = self._now(now)
        until = at + dt.timedelta(seconds=lease_seconds)
        with self._db.write("renewing a lease") as conn:
            return ledger.renew_lease(conn, action_id, worker, until=until, now=at)

    def record_progress(self, action_id: int, worker: str, result: Mapping[str, Any]) -> bool:
        """Save SEI ids produced so far (merged into ``result``) before the action is done, so
        a crash after a partial effect is probed with them."""
        now = self._now()
        with self._db.write("recording progress") as conn:
            return ledger.record_progress(conn, action_id, worker, result, now=now)

    def mark_done(self, action_id: int, worker: str, result: Mapping[str, Any]) -> bool:
        """The effect exists in SEI: DONE with ``result`` merged in. For OPEN, the request gets
        ``id_procedimento``, ``procedimento_formatado`` and ``link_acesso`` from the result."""
        return self._finish(action_id, worker, ActionState.DONE, result=result)

    def mark_retry(
        self, action_id: int, worker: str, error: str, next_attempt_at: TimeLike
    ) -> bool:
        """Send again at ``next_attempt_at`` (PENDING). On an UNCERTAIN action this says the
        effect is proven absent; a probe that merely failed should use :meth:`mark_uncertain`."""
        return self._finish(
            action_id, worker, ActionState.PENDING, error=error, next_attempt_at=next_attempt_at
        )

    def mark_uncertain(
        self, action_id: int, worker: str, error: str, next_attempt_at: TimeLike
    ) -> bool:
        """Outcome unknown: probe at ``next_attempt_at`` before anything is sent again."""
        return self._finish(
            action_id, worker, ActionState.UNCERTAIN, error=error, next_attempt_at=next_attempt_at
        )

    def mark_quarantined(self, action_id: int, worker: str, reason: str) -> bool:
        """Refused permanently; kept with ``reason`` until replayed. A non-blocking action
        lets the rest of its request go on."""
        return self._finish(action_id, worker, ActionState.QUARANTINED, error=reason)

    def mark_needs_person(self, action_id: int, worker: str, evidence: Mapping[str, Any]) -> bool:
        """Probing could not decide: a person settles it with :meth:`resolve`. ``evidence``
        (what was looked at and found; no personal data) is shown to them and audited."""
        return self._finish(action_id, worker, ActionState.NEEDS_PERSON, evidence=evidence)

    def _finish(
        self,
        action_id: int,
        worker: str,
        state: ActionState,
        *,
        error: str | None = None,
        next_attempt_at: TimeLike | None = None,
        result: Mapping[str, Any] | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> bool:
        now = self._now()
        due = None if next_attempt_at is None else self._now(next_attempt_at)
        with self._db.write(f"marking an action {state.value}") as conn:
            return ledger.finish(
                conn,
                action_id,
                worker,
                state=state,
                now=now,
                error=error,
                next_attempt_at=due,
                result=result,
                evidence=evidence,
            )

    def get_action(self, action_id: int) -> Action | None:
        with self._db.read("reading an action") as conn:
            return ledger.get_action(conn, action_id)

    def actions_of(self, protocolo: str) -> list[Action]:
        """A request's actions in seq order."""
        with self._db.read("reading actions") as conn:
            return ledger.actions_of(conn, protocolo)

    def ledger_of(self, protocolo: str) -> list[LedgerEntry]:
        """A request's actions in seq order, narrow (what an attempt or the planner needs)."""
        with self._db.read("reading a request's ledger") as conn:
            return ledger.ledger_of(conn, protocolo)

    def ledgers_of(self, protocolos: Sequence[str]) -> dict[str, list[LedgerEntry]]:
        """:meth:`ledger_of` of several requests in one read (the dispatcher reads those of a
        claimed batch at once)."""
        with self._db.read("reading the ledgers of claimed requests") as conn:
            return ledger.ledgers_of(conn, protocolos)

    def next_due_at(self, *, now: TimeLike | None = None) -> dt.datetime | None:
        """When :meth:`claim_due_actions` can next return something (None: nothing waits)."""
        at = self._now(now)
        with self._db.read("reading the next due time") as conn:
            return operators.next_due_at(conn, now=at)

    # --- operators ------------------------------------------------------------------------

    def replay(
        self,
        *,
        protocolo: str | None = None,
        reason_prefix: str | None = None,
        action_id: int | None = None,
        actor: str = "operator",
    ) -> int:
        """Quarantined actions and events back to PENDING (filters combine; none: all)."""
        now = self._now()
        with self._db.write("replaying") as conn:
            return operators.replay(
                conn,
                protocolo=protocolo,
                reason_prefix=reason_prefix,
                action_id=action_id,
                actor=actor,
                now=now,
            )

    def resolve(
        self,
        action_id: int,
        *,
        outcome: Literal["done", "absent"],
        result: Mapping[str, Any],
        actor: str,
    ) -> Action:
        """Settle an UNCERTAIN or NEEDS_PERSON action (``done``: it exists in SEI, with
        ``result``'s ids; ``absent``: send it again)."""
        now = self._now()
        with self._db.write("resolving an action") as conn:
            return operators.resolve(
                conn, action_id, outcome=outcome, result=result, actor=actor, now=now
            )

    def status(self, *, limit: int = 100, now: TimeLike | None = None) -> StatusReport:
        """Counts by state and what needs an operator (lists capped at ``limit``)."""
        at = self._now(now)
        with self._db.read("reading the status", snapshot=True) as conn:
            return operators.status(conn, now=at, limit=limit)

    def cursor_updated_at(self, name: str = DEFAULT_CURSOR) -> dt.datetime | None:
        """When a poll last wrote the feed cursor, by whichever worker (for readiness)."""
        with self._db.read("reading the feed cursor") as conn:
            return operators.cursor_updated_at(conn, name)

    def ping(self) -> None:
        """One round trip to the database (``SELECT 1``); raises StoreError if it fails."""
        with self._db.read("reaching the database") as conn:
            conn.execute(sa.text("SELECT 1"))

    # --- coordination and audit -----------------------------------------------------------

    @contextlib.contextmanager
    def poller_lock(self) -> Iterator[bool]:
        """``with store.poller_lock() as got_it:`` only one poller per database at a time
        (PostgreSQL advisory lock; always True on SQLite)."""
        with locking.poller_lock(self._db) as got:
            yield got

    def audit_verify(self) -> audit.AuditVerification:
        """Recompute the audit chain; report the first altered, missing or misplaced entry."""
        with self._db.read("verifying the audit chain", snapshot=True) as conn:
            return audit_log.verify(conn)

    @contextlib.contextmanager
    def audit_excerpt(
        self, *, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> Iterator[tuple[audit_excerpt.ExcerptHeader, Iterator[audit.AuditEntry]]]:
        """``with store.audit_excerpt(start=…, end=…) as (header, entries):`` the excerpt of
        the period [start, end) (see :mod:`sei_bridge.audit_excerpt`), read from one snapshot;
        ``entries`` streams in pages and must be consumed inside the block."""
        since = None if start is None else self._now(start)
        until = None if end is None else self._now(end)
        now = self._now()
        with self._db.read("exporting the audit trail", snapshot=True) as conn:
            yield audit_log.excerpt(conn, start=since, end=until, now=now)

    def audit_trail(
        self, *, subject: str | None = None, after: int = 0, limit: int = 1000
    ) -> list[audit.AuditEntry]:
        """Audit entries in chain order after position ``after`` (about ``subject`` only, if
        given: a protocolo, ``feed`` or ``event:<id_evento>``)."""
        with self._db.read("reading the audit trail") as conn:
            return audit_log.entries(conn, subject=subject, after=after, limit=limit)

    # --- service indicators ---------------------------------------------------------------

    def indicators(
        self, *, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> list[indicators.IndicatorRow]:
        """Figures per service and unit (see :mod:`sei_bridge.store.indicators`): requests
        registered in ``[since, until)``, and the backlog at ``until`` (None: now). Read-only,
        aggregated in the database."""
        start = None if since is None else self._now(since).timestamp()
        end = self._now(until).timestamp()
        with self._db.read("reading the service indicators", snapshot=True) as conn:
            return indicators.indicator_rows(conn, since=start, until=end)
