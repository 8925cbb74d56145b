"""outbox claims name their owner

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:00:00

A claim names the process that made it (see `mailtriage.outgoing.claims`), so a restarted
daemon takes over its dead predecessor's claims at once instead of waiting out the lease.
The index on (status, next_attempt_at) serves the delivery's query for due rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=300), nullable=True))
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_due", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
