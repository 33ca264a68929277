"""Initial schema: inbox, feed cursor, requests, action ledger, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Frozen: written out by hand (plain VARCHAR + named CHECK constraints for the enums, explicit
constraint and index names) so it never changes when ``schema.py`` does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_GENESIS_HASH = "0" * 64

_INBOX_STATES = ("PENDING", "PLANNED", "QUARANTINED", "SKIPPED")
_PAYLOAD_FORMATS = ("EVENTO", "RAW")
_REQUEST_STATES = ("ACTIVE", "QUARANTINED")
_ACTION_STATES = ("PENDING", "DONE", "UNCERTAIN", "QUARANTINED", "NEEDS_PERSON")
_ACTION_KINDS = (
    "OPEN",
    "ANEXO",
    "SOLICITACAO_DOC",
    "SIGRC_PROCESSO",
    "INTERACAO_DOC",
    "FINALIZADO_DOC",
    "CONCLUIR",
    "REABRIR",
)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _state(column: str, values: tuple[str, ...], table: str, name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "inbox_event",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("id_evento", sa.String(200), nullable=False),
        sa.Column("sequencia", sa.BigInteger(), nullable=True),
        sa.Column("tipo", sa.String(100), nullable=False),
        sa.Column("protocolo", sa.String(64), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload_format", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_event")),
        sa.UniqueConstraint("id_evento", name=op.f("uq_inbox_event_id_evento")),
        _state("state", _INBOX_STATES, "inbox_event", "inbox_state"),
        _state("payload_format", _PAYLOAD_FORMATS, "inbox_event", "payload_format"),
    )
    op.create_index(op.f("ix_inbox_event_state_sequencia"), "inbox_event", ["state", "sequencia"])
    op.create_index(op.f("ix_inbox_event_protocolo"), "inbox_event", ["protocolo"])

    op.create_table(
        "feed_cursor",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("window", sa.Text(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursor")),
    )

    op.create_table(
        "solicitacao",
        sa.Column("protocolo", sa.String(64), nullable=False),
        sa.Column("servico_codigo", sa.String(64), nullable=False, server_default=""),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id_procedimento", sa.String(64), nullable=True),
        sa.Column("procedimento_formatado", sa.String(100), nullable=True),
        sa.Column("link_acesso", sa.Text(), nullable=True),
        sa.Column("next_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("closures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("protocolo", name=op.f("pk_solicitacao")),
        _state("state", _REQUEST_STATES, "solicitacao", "request_state"),
    )
    op.create_index(op.f("ix_solicitacao_state"), "solicitacao", ["state"])

    op.create_table(
        "action",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("protocolo", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("is_head", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("blocking", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", _time(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("event_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("state_since", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action")),
        sa.ForeignKeyConstraint(
            ["protocolo"],
            ["solicitacao.protocolo"],
            name=op.f("fk_action_protocolo_solicitacao"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["inbox_event.id"], name=op.f("fk_action_event_id_inbox_event")
        ),
        sa.UniqueConstraint(
            "protocolo", "kind", "source_id", name=op.f("uq_action_protocolo_kind_source_id")
        ),
        sa.UniqueConstraint("protocolo", "seq", name=op.f("uq_action_protocolo_seq")),
        _state("kind", _ACTION_KINDS, "action", "action_kind"),
        _state("state", _ACTION_STATES, "action", "action_state"),
    )
    op.create_index(op.f("ix_action_kind_state"), "action", ["kind", "state"])
    # claimable heads only, oldest due first: a claim reads ~limit rows however big the ledger
    due = sa.text("is_head AND state IN ('PENDING', 'UNCERTAIN')")
    op.create_index(
        op.f("ix_action_due"),
        "action",
        ["next_attempt_at"],
        postgresql_where=due,
        sqlite_where=due,
    )

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_subject"), "audit_entry", ["subject"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_id": 0, "hash": _GENESIS_HASH}])

    # The audit trail is append-only at the database level too.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    op.drop_table("audit_head")
    op.drop_table("audit_entry")
    op.drop_table("action")
    op.drop_table("solicitacao")
    op.drop_table("feed_cursor")
    op.drop_table("inbox_event")
