"""What a storage backend must do for the records side, declared once (the ports).

Two adapters implement them: PostgreSQL (service/store/postgres*.py, batch_items_pg.py) and SQLite
(service/store/sqlite*.py). Which one runs is decided in one place, service.db.backend, from the engine;
no other module asks which database it talks to. tests/contract/ runs the same cases against both, so a
divergence between them is a failing test.

The set-based statements both backends share (links, batch ingestions) are written once and take the few
fragments that differ from `SqlDialect`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from service.store.staged import ErrorSink, StagedRecord

if TYPE_CHECKING:
    from service.store.batch_ingest import BatchCounts

# {"items": {"created": n, ...}, "variations": {...}, "item_groups": {...}[, "skipped_record_ids": [...]]}
Counts = dict[str, Any]


class BatchPurged(Exception):
    """A batch item write named a batch that no longer exists (purged since it was looked up)."""


class RecordStore(Protocol):
    """The record writes of one task in one catalog version, inside the task's transaction.

    A task stages its operations (in order: `seq` orders them), then applies them with one of replace,
    merge, delete or sync. An operation older than the record's last write (`op_ts`) changes nothing.
    """

    version_id: int

    async def stage(self, records: Iterable[StagedRecord]) -> None:
        """Add operations to the task's staging table (created by the first call, even with no records)."""
        ...

    async def replace(self, dedupe: bool = True) -> Counts:
        """Create or wholly replace each staged record; with `dedupe` the last operation on a record wins,
        without it a record staged twice raises DuplicateRecord."""
        ...

    async def merge(self, on_missing: str) -> Counts:
        """Merge the given fields into existing records (a null in `data` removes the key, R8);
        `on_missing` is FAIL (RECORD_NOT_FOUND), IGNORE (skipped and named) or CREATE."""
        ...

    async def delete(self) -> Counts:
        """Delete the staged records (those not written after the delete)."""
        ...

    async def sync(self, kinds: Iterable[int], force: bool, as_of: dt.datetime | None = None) -> Counts:
        """Make each kind's records exactly the staged ones; deleting more than half of a kind's records fails
        (SAFETY_THRESHOLD) unless `force`; a missing record written after `as_of` is kept."""
        ...

    async def check_parents(self, report: ErrorSink | None = None) -> None:
        """Every staged variation names an existing item once applied, else MISSING_PARENT_ITEM (the first, or
        with a `report` each one, listed there)."""
        ...

    async def check_unique(self) -> None:
        """Raise DuplicateRecord for the first record staged twice."""
        ...


class BatchIngestion(Protocol):
    """A batch into a catalog version, inside the ingestion task's transaction (service.store.batch_ingest, one
    implementation over SqlDialect). Item errors collect first; every write skips the items in error."""

    async def prepare(self) -> None:
        """Create the item error table of this transaction."""
        ...

    async def counts(self) -> BatchCounts:
        """(items added or modified, of them modifications only, tombstones)."""
        ...

    async def refresh_statistics(self, engine: AsyncEngine) -> None: ...

    def chunks(self) -> AsyncIterator[list[Any]]:
        """The batch's live items in key order, a bounded chunk at a time (for the schema check in Python)."""
        ...

    async def add_errors(self, errors: list[dict[str, str]]) -> None: ...

    async def check_structure(self, version: int) -> None:
        """Item errors: a modification of an item the version lacks, a variant without its item, two types
        of one id."""
        ...

    async def check_group_links(self, version: int) -> None:
        """Item errors: group_ids naming a group the version lacks (R2)."""
        ...

    async def error_summary(self) -> tuple[int, dict[str, dict[str, Any]]]: ...
    async def item_errors(self, limit: int) -> list[Any]: ...

    async def upsert(self, source: str) -> int:
        """Added items become the version's records (unless older than the record's last write)."""
        ...

    async def merge_partial(self) -> int:
        """Items only modified in the batch: their attributes merge (shallowly) into the version's records."""
        ...

    async def apply_tombstones(self) -> int: ...

    async def delete_missing(self, source: str) -> int:
        """The records of `source` the batch does not hold, last written before the batch's snapshot (R3)."""
        ...

    async def cascade_variations(self, *, tombstones_only: bool) -> int:
        """The variants of the items this ingestion deleted (R2)."""
        ...


class SqlDialect(Protocol):
    """The SQL fragments the shared set-based statements need written per backend."""

    # A JSON object literal `{}` of the records' JSON column type.
    empty_object: str
    # Appended to a SELECT that must hold its rows until the transaction ends (nothing where a write
    # transaction already excludes every other writer).
    share_lock: str
    # Appended to a SELECT that claims rows other claimers must skip (nothing where one writer runs at a time).
    skip_locked: str

    def json_array_values(self, json_expr: str, alias: str = "g") -> str:
        """A FROM item with one row per string of the JSON array `json_expr` (column `{alias}.value`);
        none when it is not an array."""
        ...

    def json_member(self, json_expr: str, key: str) -> str:
        """The JSON value of `key` in the object `json_expr`."""
        ...

    def merge_objects(self, left: str, right: str) -> str:
        """The object `left` with `right`'s keys written over it."""
        ...

    def json_differs(self, left: str, right: str) -> str:
        """Whether two JSON values (either may be NULL) differ: what decides that a write changed a record."""
        ...

    def temp_table(self, name: str, columns: str) -> list[str]:
        """Statements that create a temporary table dropped when the transaction ends."""
        ...

    def before_link_check(self) -> list[str]:
        """Statements to run (in the task's transaction) before the link checks of service.store.links."""
        ...


class ChangeBatches(Protocol):
    """Where a backend keeps some record changes in batches beside record_history's row per change
    (PostgreSQL: service.store.postgres_change_batches), the reads of service.store.record_history over both."""

    # The number of changes kept, both kinds.
    count_sql: str

    async def record_changes(
        self,
        bind: AsyncSession | AsyncConnection,
        version_id: int,
        kind: int,
        record_id: str,
        context: str,
        limit: int,
        *,
        before_id: int | None,
        after_time: dt.datetime | None,
    ) -> list[Any]:
        """One record's changes, newest first (as record_history.record_changes)."""
        ...

    async def task_changes(
        self, bind: AsyncSession | AsyncConnection, task_id: int, limit: int, *, after_id: int | None
    ) -> list[Any]:
        """One task's changes in id order (as record_history.task_changes)."""
        ...

    async def purge(self, conn: AsyncConnection, cutoff: Any) -> int:
        """Delete the batches older than `cutoff` (a SQL expression of the database clock); the changes gone."""
        ...


class Backend(Protocol):
    """One storage backend: its record store, its SQL fragments, and the operations it runs its own way."""

    name: str
    sql: SqlDialect
    # Whether one process must run every role: only one process can write (SQLite's single writer).
    one_process: bool
    # Where some record changes are kept in batches (None: a row per change only).
    change_batches: ChangeBatches | None

    async def record_store(self, conn: AsyncConnection, version_id: int) -> RecordStore:
        """The record store of one task, on the task's connection (inside its transaction)."""
        ...

    async def write_batch_items(self, session: AsyncSession, modify: bool, rounds: list[list[dict[str, Any]]]) -> None:
        """Upsert batch item rows, one round after another (a round touches an item at most once); a row older
        than the stored one is ignored; a modification merges attributes and needs a live item. A purged batch
        raises BatchPurged."""
        ...

    async def existing_item_ids(
        self, bind: AsyncSession | AsyncConnection, version_id: int, ids: Sequence[str]
    ) -> set[str]:
        """Which of `ids` (unique, non-empty) are items (context '') of the catalog version."""
        ...

    def text_list(self, column: str, param: str) -> str:
        """`column` IN the list bound as `param` (see bind_text_list), as one statement whatever its length."""
        ...

    def bind_text_list(self, values: Sequence[str]) -> Any:
        """The parameter value for text_list."""
        ...

    async def analyze(self, engine: AsyncEngine, table: str) -> None:
        """Refresh the planner's statistics of `table` now, committed on a connection of its own (or nothing,
        where the planner needs none)."""
        ...
