"""SQLAlchemy Core tables of the store (the shape Alembic's migrations create).

Portable between SQLite and PostgreSQL: states are ``Enum(native_enum=False)`` columns (VARCHAR
plus a CHECK constraint), timestamps are UTC (:class:`UtcDateTime`), JSON is ``sa.JSON``. The
migrations in ``migrations/versions`` are the source of truth for the database; these tables are
what the queries are written against, and a test checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from sei_bridge.store.types import (
    CLAIMABLE_STATES,
    ActionKind,
    ActionState,
    InboxState,
    PayloadFormat,
    RequestState,
)

__all__ = [
    "AUDIT_HEAD_ID",
    "DUE_INDEX_SQL",
    "DUE_INDEX_STATES",
    "UtcDateTime",
    "action",
    "audit_entry",
    "audit_head",
    "due_index_where",
    "enum_column_type",
    "feed_cursor",
    "inbox_event",
    "metadata",
    "select_due",
    "solicitacao",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: the one row of ``audit_head``
AUDIT_HEAD_ID = 1

#: the states the partial "due" index covers; the claim query repeats exactly this list so that
#: both SQLite and PostgreSQL can prove the index applies
DUE_INDEX_STATES: tuple[str, ...] = tuple(s.value for s in CLAIMABLE_STATES)


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on both dialects.

    SQLite has no time zones: values are stored as naive UTC and come back tagged UTC, so string
    comparison in SQL stays chronological. Naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass a timezone-aware one")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def enum_column_type(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR with a named CHECK constraint listing the values."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid alias is INTEGER
_JSON = sa.JSON(none_as_null=True)

inbox_event = sa.Table(
    "inbox_event",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("id_evento", sa.String(200), nullable=False),
    sa.Column("sequencia", sa.BigInteger, nullable=True),
    sa.Column("tipo", sa.String(100), nullable=False),
    sa.Column("protocolo", sa.String(64), nullable=True),
    sa.Column("state", enum_column_type(InboxState, "inbox_state"), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("payload_format", enum_column_type(PayloadFormat, "payload_format"), nullable=False),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("id_evento"),
    sa.Index(None, "state", "sequencia"),
    sa.Index(None, "protocolo"),
)

feed_cursor = sa.Table(
    "feed_cursor",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("watermark", sa.BigInteger, nullable=False),
    sa.Column("window", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

solicitacao = sa.Table(
    "solicitacao",
    metadata,
    sa.Column("protocolo", sa.String(64), primary_key=True),
    sa.Column("servico_codigo", sa.String(64), nullable=False, server_default=""),
    sa.Column("state", enum_column_type(RequestState, "request_state"), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("id_procedimento", sa.String(64), nullable=True),
    sa.Column("procedimento_formatado", sa.String(100), nullable=True),
    sa.Column("link_acesso", sa.Text, nullable=True),
    sa.Column("next_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("closures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "state"),
)

action = sa.Table(
    "action",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("protocolo", sa.String(64), sa.ForeignKey("solicitacao.protocolo"), nullable=False),
    sa.Column("kind", enum_column_type(ActionKind, "action_kind"), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("state", enum_column_type(ActionState, "action_state"), nullable=False),
    # Denormalised "head of its request": true for the lowest-seq action of the request that is
    # not settled. Kept by the store (refresh_head) so a claim reads only claimable rows through
    # a small partial index instead of testing NOT EXISTS on every waiting row.
    sa.Column("is_head", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("blocking", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(200), nullable=True),
    sa.Column("lease_expires_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("result", _JSON, nullable=False),
    sa.Column("evidence", _JSON, nullable=True),
    sa.Column("event_id", _ID, sa.ForeignKey("inbox_event.id"), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("state_since", UtcDateTime, nullable=False),
    sa.UniqueConstraint("protocolo", "kind", "source_id"),
    sa.UniqueConstraint("protocolo", "seq"),
    # kind first: an index led by state would look better to SQLite's planner (no statistics)
    # than ix_action_due for claims, and it would sort every waiting row
    sa.Index(None, "kind", "state"),
)


#: The predicate of the partial index ``ix_action_due``, as literal SQL: SQLite uses a partial
#: index only when the query repeats the index's terms with the same literals (bound parameters
#: do not match), so every claim embeds exactly this text.
DUE_INDEX_SQL = "is_head AND state IN ({})".format(", ".join(f"'{s}'" for s in DUE_INDEX_STATES))


def due_index_where() -> sa.TextClause:
    """The predicate of the partial index ``ix_action_due`` (and of every claim)."""
    return sa.text(DUE_INDEX_SQL)


def select_due(*columns: Any) -> sa.Select[Any]:
    """``SELECT columns FROM action WHERE <due predicate>``: a query ``ix_action_due`` serves."""
    return sa.select(*columns).select_from(action).where(due_index_where())


sa.Index(
    "ix_action_due",
    action.c.next_attempt_at,
    postgresql_where=due_index_where(),
    sqlite_where=due_index_where(),
)

audit_entry = sa.Table(
    "audit_entry",
    metadata,
    # the chain position: gapless, assigned under the audit_head lock
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "subject"),
    # `audit export --from --to` finds a period's first and last positions by time
    sa.Index(None, "at"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
