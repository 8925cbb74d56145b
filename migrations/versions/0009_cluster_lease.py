"""cluster lease: one active daemon per store, fenced by an epoch (issue 15)

On PostgreSQL also: no planner statistics for the columns holding a reporter's address.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lease = op.create_table(
        "cluster_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=300), nullable=True),
        sa.Column("node_name", sa.String(length=200), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("acquired_s", sa.Float(), nullable=True),
        sa.Column("expires_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_lease")),
    )
    # The row exists from the start: taking the lease is always an UPDATE of it, never an
    # INSERT two daemons could race on.
    op.bulk_insert(lease, [{"id": 1, "holder": None, "node_name": None, "epoch": 0}])
    op.create_table(
        "cluster_nodes",
        sa.Column("holder", sa.String(length=300), nullable=False),
        sa.Column("node_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("seen_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_cluster_nodes")),
    )

    if op.get_bind().dialect.name == "postgresql":
        # SQLite never enforced the length; PostgreSQL refuses "staff-unauthenticated" (21).
        op.alter_column(
            "messages", "category", type_=sa.String(length=32), existing_type=sa.String(16)
        )
        # ANALYZE copies sample values of a column (most common values, histogram bounds)
        # into pg_statistic, where a purge cannot erase them: collect none for the columns
        # that hold a reporter's address or name.
        for table, column in PERSONAL_COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0")


PERSONAL_COLUMNS = (
    ("cases", "reporter_address"),
    ("cases", "reporter_name"),
    ("messages", "from_address"),
    ("outbox", "recipient"),
)


def downgrade() -> None:
    op.drop_table("cluster_nodes")
    op.drop_table("cluster_lease")
