"""indexes for listing cases at 100,000

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:30:00

`cases --overdue` (and the reminder job) look for cases without a first assessment whose due
moment has passed: (first_response_at, first_response_due) finds those few among 100,000
without reading every open case. `cases` lists in order of receipt: (received_at, id) lets it
stream rows in that order instead of sorting them all first.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_first_response", "cases", ["first_response_at", "first_response_due"])
    op.create_index("ix_cases_received", "cases", ["received_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_received", table_name="cases")
    op.drop_index("ix_cases_first_response", table_name="cases")
