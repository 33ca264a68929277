"""Index audit entries by time, for ``sei-bridge audit export --from --to``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Frozen: names the index explicitly so it never changes when ``schema.py`` does.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_at", table_name="audit_entry")
