"""How the tables spread over a Citus cluster (docs/scaling.md): each table is distributed by a column that
belongs to one tenant, a reference table (small, read everywhere, copied to every node), or kept on the
coordinator (the task queue: its claim is one `FOR UPDATE SKIP LOCKED` over every catalog, which Citus runs only
on one node). tests/test_citus_layout.py checks this against the models: a new table fails until it is listed,
and every primary key and unique constraint of a distributed table includes its distribution column.

We cannot run Citus here: the schema is made ready for it, and `commands()` prints what to run on the
coordinator after `catalog-ingest migrate`.
"""

from __future__ import annotations

# table -> distribution column. Co-location groups: tables distributed by the same key are listed together.
DISTRIBUTED: dict[str, str] = {
    # A catalog version's records: every read and write of the store names one version (one tenant's).
    "records": "version_id",
    # The last full sync per (version, kind): read and written with the version's records.
    "record_sync_marks": "version_id",
    # A batch's staged items: every statement names one batch (one catalog's).
    "batch_items": "batch_id",
    # The answers of writes without a task, under their idempotency key: looked up by (tenant, key).
    "idempotent_responses": "tenant_id",
}
# Small, global or rarely written, joined to from everywhere.
REFERENCE: frozenset[str] = frozenset(
    {
        "tenants",
        "api_tokens",  # looked up by the token's hash before the tenant is known
        "catalogs",
        "catalog_versions",
        "batches",
        "tenant_webhooks",
    }
)
# The task queue and what hangs off a task: one node's tables (Citus local tables, `citus_add_local_table_to_
# metadata`, so that their foreign keys to reference tables hold), where claims, LISTEN/NOTIFY and the queue's
# sequences work as on one PostgreSQL.
# The workers' leases (a heartbeat every 2 s each) and the bulk API's per-catalog rate limit (a row locked and
# written per request) are written too often for a reference table, whose writes go to every node.
# The record history is written by triggers on `records` naming the task that declared itself the writer of
# its transaction (record_history_writers): on Citus those triggers would run on the shards, so the history is
# kept with the queue; its id is a plain sequence (SQLite's rowid), which a composite key would not allow.
COORDINATOR: frozenset[str] = frozenset(
    {
        "tasks",
        "task_payloads",
        "webhook_deliveries",
        "ingestions",
        "workers",
        "bulk_rate_limits",
        "task_errors",
        "record_history",
        "record_change_batches",
        "record_history_writers",
    }
)


def commands(dependency_order: list[str]) -> list[str]:
    """The statements that lay a migrated database out over Citus (on the coordinator, after
    `SELECT citus_set_coordinator_host(...)` and `citus_add_node(...)` for the workers). `dependency_order` is
    the tables with each after those it references (`Base.metadata.sorted_tables`): Citus takes a foreign key
    only to a table it already manages."""
    statements = ["CREATE EXTENSION IF NOT EXISTS citus;"]
    for table in dependency_order:
        if table in REFERENCE:
            statements.append(f"SELECT create_reference_table('{table}');")
        elif table in COORDINATOR:
            statements.append(f"SELECT citus_add_local_table_to_metadata('{table}');")
        elif table in DISTRIBUTED:
            statements.append(f"SELECT create_distributed_table('{table}', '{DISTRIBUTED[table]}');")
    return statements
