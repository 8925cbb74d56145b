"""obligations: the reporting clocks of #exploited and #incident

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailtriage.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = mailtriage.store.types.UTCDateTime
    op.create_table(
        "obligations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("started_at", utc(), nullable=False),
        sa.Column("begins", utc(), nullable=True),
        sa.Column("due", utc(), nullable=True),
        sa.Column("reported_at", utc(), nullable=True),
        sa.Column("half_sent_at", utc(), nullable=True),
        sa.Column("soon_sent_at", utc(), nullable=True),
        sa.Column("escalated_at", utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_obligations_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint("case_id", "kind", "step", name=op.f("uq_obligations_case_id")),
    )
    op.create_index(op.f("ix_obligations_case_id"), "obligations", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_obligations_case_id"), table_name="obligations")
    op.drop_table("obligations")
