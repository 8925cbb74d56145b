"""openpgp: the reporter's key on the case, what OpenPGP made of each message

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reporter_pgp_key", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("pgp", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("pgp")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reporter_pgp_key")
