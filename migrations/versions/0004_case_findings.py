"""case findings: duplicate links, CVSS, CWE, CVE, embargo (issue 16)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailtriage.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("resolved_notice_at", mailtriage.store.types.UTCDateTime(), nullable=True)
        )
        batch.add_column(sa.Column("cvss_vector", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("cvss_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("cvss_rating", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cwe", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cve", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("embargo_until", mailtriage.store.types.UTCDateTime(), nullable=True)
        )
        batch.create_index(batch.f("ix_cases_duplicate_of_id"), ["duplicate_of_id"])
        batch.create_foreign_key(
            batch.f("fk_cases_duplicate_of_id_cases"),
            "cases",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(batch.f("fk_cases_duplicate_of_id_cases"), type_="foreignkey")
        batch.drop_index(batch.f("ix_cases_duplicate_of_id"))
        for column in (
            "embargo_until",
            "cve",
            "cwe",
            "cvss_rating",
            "cvss_score",
            "cvss_vector",
            "resolved_notice_at",
            "duplicate_of_id",
        ):
            batch.drop_column(column)
