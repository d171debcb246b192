"""the catalogs with a running task, found by index: the claim reads only each catalog's head (issue 16)

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: a handful of rows (the running tasks); the claim asks it whether a catalog is busy, which
    # ix_tasks_unfinished could answer only by reading every queued task of the catalog.
    op.create_index(
        "ix_tasks_running",
        "tasks",
        ["catalog_id"],
        unique=False,
        postgresql_where=sa.text("status = 'IN_PROGRESS'"),
        sqlite_where=sa.text("status = 'IN_PROGRESS'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_running", table_name="tasks")
