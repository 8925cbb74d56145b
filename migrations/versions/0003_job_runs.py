"""job runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:52:57.298177
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailtriage.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("at", mailtriage.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job", "key", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
