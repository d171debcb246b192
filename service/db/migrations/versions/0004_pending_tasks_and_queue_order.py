"""pending tasks, the queue order of tasks, a CHECK on task status (issue 11)

A client stream stores its payload in short transactions under a PENDING task (never claimed, never
listed); its final commit makes it QUEUED and gives it its place in the queue, `queue_seq`, which the
claim orders by: FIFO by the commit that acknowledged a task, not by when its stream began.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = ("PENDING", "QUEUED", "IN_PROGRESS", "DONE", "FAILED", "CANCELED")
_LISTED = ", ".join(f"'{s}'" for s in STATUSES)
UNFINISHED = sa.text("status IN ('QUEUED', 'IN_PROGRESS')")


def upgrade() -> None:
    op.add_column("tasks", sa.Column("queue_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE tasks SET queue_seq = id")
    for name in ("ix_tasks_unfinished", "ix_tasks_queued"):
        op.drop_index(name, table_name="tasks", postgresql_where=UNFINISHED, sqlite_where=UNFINISHED)
    op.create_index(
        "ix_tasks_unfinished",
        "tasks",
        ["catalog_id", "queue_seq"],
        postgresql_where=UNFINISHED,
        sqlite_where=UNFINISHED,
    )
    op.create_index("ix_tasks_queued", "tasks", ["queue_seq"], postgresql_where=UNFINISHED, sqlite_where=UNFINISHED)
    # SQLite takes the next place as max + 1 (under its one write lock); the index makes that a lookup.
    op.create_index("ix_tasks_queue_seq", "tasks", ["queue_seq"])
    pending = sa.text("status = 'PENDING'")
    op.create_index("ix_tasks_pending", "tasks", ["last_update"], postgresql_where=pending, sqlite_where=pending)
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE tasks_queue_seq")
        op.execute("SELECT setval('tasks_queue_seq', (SELECT coalesce(max(id), 0) + 1 FROM tasks), false)")
        op.execute(f"ALTER TABLE tasks ADD CONSTRAINT ck_tasks_status CHECK (status IN ({_LISTED}))")
    else:
        # SQLite adds a CHECK only by rebuilding the table, which would cascade-delete task_payloads: triggers.
        for event, when in (("INSERT", "INSERT"), ("UPDATE", "UPDATE OF status")):
            op.execute(
                f"CREATE TRIGGER ck_tasks_status_{event.lower()} BEFORE {when} ON tasks"
                f" WHEN NEW.status NOT IN ({_LISTED})"
                f" BEGIN SELECT RAISE(ABORT, 'tasks.status must be one of {', '.join(STATUSES)}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE tasks DROP CONSTRAINT ck_tasks_status")
        op.execute("DROP SEQUENCE tasks_queue_seq")
    else:
        op.execute("DROP TRIGGER ck_tasks_status_insert")
        op.execute("DROP TRIGGER ck_tasks_status_update")
    op.execute("DELETE FROM tasks WHERE status = 'PENDING'")
    pending = sa.text("status = 'PENDING'")
    op.drop_index("ix_tasks_pending", table_name="tasks", postgresql_where=pending, sqlite_where=pending)
    op.drop_index("ix_tasks_queue_seq", table_name="tasks")
    for name in ("ix_tasks_unfinished", "ix_tasks_queued"):
        op.drop_index(name, table_name="tasks", postgresql_where=UNFINISHED, sqlite_where=UNFINISHED)
    op.create_index("ix_tasks_queued", "tasks", ["id"], postgresql_where=UNFINISHED, sqlite_where=UNFINISHED)
    op.create_index(
        "ix_tasks_unfinished", "tasks", ["catalog_id", "id"], postgresql_where=UNFINISHED, sqlite_where=UNFINISHED
    )
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("queue_seq")
