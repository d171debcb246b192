"""Catalog CSV files to staged records, one row at a time.

The formats (UTF-8, optional BOM, CRLF or LF, RFC 4180 quoting):
- items: id, item_name, url, image_url, description, keywords (a|b), group_ids (a|b), active,
  suggested_score, metadata:<k>, facet:<k>
- variations: variation_id, item_id, item_name, url, image_url, description, keywords, active,
  metadata:<k>, facet:<k>
- item_groups: id, name, parent_ids (JSON array; or the older parent_id), data (JSON object)

Blank cells are absent values; in a patch they leave the stored value alone. Every error names
the file, the 1-based line of the row (the header is line 1) and the column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from service.domain import values
from service.domain.ids import id_problem
from service.domain.json_depth import TOO_DEEP, too_deep
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store.staged import ID_COLUMNS, KIND_NAMES, ROW_BITS, StagedRecord

ITEM, VARIATION, ITEM_GROUP = 1, 2, 3
FILE_NAMES = {kind: f"{name}.csv" for kind, name in KIND_NAMES.items()}
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}

TEXT_COLUMNS = {
    ITEM: ("url", "image_url", "description"),
    VARIATION: ("url", "image_url", "description"),
    ITEM_GROUP: (),
}
LIST_COLUMNS = {ITEM: ("keywords", "group_ids"), VARIATION: ("keywords",), ITEM_GROUP: ()}
ID_COLUMN = ID_COLUMNS
NAME_COLUMN = {ITEM: "item_name", VARIATION: "item_name", ITEM_GROUP: "name"}
KNOWN = {
    ITEM: {"id", "item_name", "url", "image_url", "description", "keywords", "group_ids", "active", "suggested_score"},
    VARIATION: {"variation_id", "item_id", "item_name", "url", "image_url", "description", "keywords", "active"},
    ITEM_GROUP: {"id", "name", "parent_ids", "parent_id", "data"},
}
# R6: keys a `metadata:<key>` column may not use: the attributes the items' and variations' data hold (url,
# active, group_ids, facets, ...) and the typed columns (a `metadata:item_name` would read as the name).
BUILT_IN_KEYS = frozenset(KNOWN[ITEM] | KNOWN[VARIATION] | {"facets", "name", "context"})
_new_staged = tuple.__new__


# Called with a row's error and the row as sent (header -> cell).
InvalidRow = Callable[["CsvError", Any], None]


class CsvError(TaskFailed):
    def __init__(
        self, kind: int, row: int, column: str, message: str, reason: ErrorReason = ErrorReason.INVALID_CSV
    ) -> None:
        where = f"{FILE_NAMES[kind]}, row {row}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {message}", reason=reason, file=FILE_NAMES[kind], row=row, column=column)
        self.kind = kind


class RowParser:
    """Converts the rows of one file; built once from its header so the per-row work is small."""

    def __init__(self, kind: int, header: list[str], patch: bool, now: dt.datetime) -> None:
        self.kind = kind
        self.patch = patch
        self.now = now
        self.header = [h.strip() for h in header]
        self.base = kind << ROW_BITS
        if not any(self.header):
            raise CsvError(kind, 1, "", "the header row is empty")
        seen: set[str] = set()
        for column in self.header:
            if column in seen:
                raise CsvError(kind, 1, column, "duplicate column")
            seen.add(column)
            if column not in KNOWN[kind] and not (
                kind != ITEM_GROUP and column.startswith(("metadata:", "facet:")) and column.split(":", 1)[1]
            ):
                raise CsvError(kind, 1, column, "unknown column")
            if column.startswith("metadata:") and column.split(":", 1)[1] in BUILT_IN_KEYS:
                raise CsvError(
                    kind, 1, column, f"'{column.split(':', 1)[1]}' is a built-in attribute; name the column otherwise"
                )
        id_column = ID_COLUMN[kind]
        if id_column not in seen:
            raise CsvError(kind, 1, id_column, "required column missing")
        if kind == VARIATION and "item_id" not in seen and not patch:
            raise CsvError(kind, 1, "item_id", "required column missing")
        index = {c: i for i, c in enumerate(self.header)}
        self.width = len(self.header)
        self.i_id = index[id_column]
        self.i_name = index.get(NAME_COLUMN[kind])
        self.i_score = index.get("suggested_score")
        self.i_active = index.get("active")
        self.i_item = index.get("item_id")
        self.i_parents = index.get("parent_ids")
        self.i_parent = index.get("parent_id")
        self.i_data = index.get("data")
        self.texts = [(index[c], c) for c in TEXT_COLUMNS[kind] if c in index]
        self.lists = [(index[c], c) for c in LIST_COLUMNS[kind] if c in index]
        self.metadata = [(i, c[len("metadata:") :]) for c, i in index.items() if c.startswith("metadata:")]
        self.facets = [(i, c[len("facet:") :]) for c, i in index.items() if c.startswith("facet:")]

    def parse(self, cells: list[str], row: int) -> StagedRecord:
        kind = self.kind
        if len(cells) != self.width:
            raise CsvError(kind, row, "", f"expected {self.width} cells as in the header, found {len(cells)}")
        record_id = cells[self.i_id]
        if not record_id.strip():
            raise CsvError(kind, row, self.header[self.i_id], "id is required")
        if (problem := id_problem(record_id)) is not None:
            raise CsvError(kind, row, self.header[self.i_id], f"id {problem}", _id_reason(problem))
        data: dict[str, Any] = {}
        if self.i_data is not None and cells[self.i_data]:
            data = _json(kind, row, "data", cells[self.i_data], dict)
            data = _checked(kind, row, "data", data)
        for i, column in self.texts:
            if value := cells[i]:
                data[column] = value
        for i, column in self.lists:
            if value := cells[i]:
                if "|" in value:
                    data[column] = [s for v in value.split("|") if (s := v.strip())]
                else:
                    data[column] = [s] if (s := value.strip()) else []
        if self.i_active is not None and cells[self.i_active]:
            flag = cells[self.i_active].strip().lower()
            if flag not in TRUE and flag not in FALSE:
                raise CsvError(kind, row, "active", f"not a boolean: {values.show(cells[self.i_active])}")
            data["active"] = flag in TRUE
        for i, key in self.metadata:
            if value := cells[i]:
                data[key] = value
        if self.facets:
            facets: dict[str, list[str]] = {}
            for i, key in self.facets:
                if value := cells[i]:
                    facets[key] = [v.strip() for v in value.split("|")] if "|" in value else [value.strip()]
            if facets:
                data["facets"] = facets
        name = cells[self.i_name] if self.i_name is not None and cells[self.i_name] else None
        score = None
        if self.i_score is not None and cells[self.i_score].strip():
            try:
                score = float(cells[self.i_score])
            except ValueError:
                shown = values.show(cells[self.i_score])
                raise CsvError(kind, row, "suggested_score", f"not a number: {shown}") from None
            if score != score or score in (float("inf"), float("-inf")):
                shown = values.show(cells[self.i_score])
                raise CsvError(
                    kind, row, "suggested_score", f"not a finite number: {shown}", ErrorReason.INVALID_NUMBER
                )
        parent = None
        if self.i_item is not None and cells[self.i_item].strip():
            parent = cells[self.i_item]
            if (problem := id_problem(parent)) is not None:
                raise CsvError(kind, row, "item_id", f"item_id {problem}", _id_reason(problem))
        elif kind == VARIATION and not self.patch:
            raise CsvError(kind, row, "item_id", "item_id is required")
        parents = None
        if self.i_parents is not None and cells[self.i_parents].strip():
            parents = _json(kind, row, "parent_ids", cells[self.i_parents], list)
            if not all(isinstance(p, str) for p in parents):
                raise CsvError(kind, row, "parent_ids", "must be a JSON array of strings")
            for parent_id in parents:
                if (problem := id_problem(parent_id)) is not None:
                    shown = values.show(parent_id)
                    raise CsvError(kind, row, "parent_ids", f"parent id {shown} {problem}", _id_reason(problem))
        elif self.i_parent is not None and cells[self.i_parent].strip():
            parents = [cells[self.i_parent]]
            if (problem := id_problem(parents[0])) is not None:
                raise CsvError(kind, row, "parent_id", f"parent_id {problem}", _id_reason(problem))
        # StagedRecord's fields in order, built as a plain tuple (its keyword constructor costs a Python call per
        # row, a tenth of the parse). The `data` cell is canonical already (_checked); the other values are
        # strings, lists and booleans.
        return _new_staged(
            StagedRecord,
            (
                self.base + row,
                kind,
                record_id,
                "",
                name,
                name is not None,
                score,
                score is not None,
                parent,
                parent is not None,
                orjson.dumps(parents).decode() if parents is not None else None,
                parents is not None,
                orjson.dumps(data).decode(),
                self.now,
            ),
        )

    def record_of(self, cells: list[str]) -> dict[str, str] | list[str]:
        """A row as it was sent: header -> cell, or its cells when their count is not the header's."""
        return dict(zip(self.header, cells, strict=True)) if len(cells) == self.width else list(cells)

    def id_of(self, cells: list[str]) -> str:
        return cells[self.i_id] if len(cells) > self.i_id else ""

    def check_characters(self, cells: list[str], row: int) -> None:
        """NUL in any cell fails the file naming the cell (PostgreSQL text cannot hold it; SQLite would)."""
        for i, cell in enumerate(cells):
            if "\x00" in cell:
                column = self.header[i] if i < self.width else ""
                raise CsvError(
                    self.kind, row, column, "contains a NUL character (\\u0000)", ErrorReason.INVALID_CHARACTER
                )


def _id_reason(problem: str) -> ErrorReason:
    return ErrorReason.INVALID_CHARACTER if "NUL" in problem else ErrorReason.INVALID_ID


def _checked(kind: int, row: int, column: str, value: Any) -> Any:
    """A JSON cell's value in canonical form; NUL (as \\u0000) or a number that cannot read back fails the row."""
    canonical, problems = values.check(value, "")
    if problems:
        path, problem = problems[0]
        reason = (
            ErrorReason.INVALID_CHARACTER if "NUL" in problem or "surrogate" in problem else ErrorReason.INVALID_NUMBER
        )
        raise CsvError(kind, row, column, f"{path}: {problem}" if path else problem, reason)
    return canonical


def _json(kind: int, row: int, column: str, text: str, expected: type) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CsvError(kind, row, column, f"invalid JSON: {exc}") from None
    if not isinstance(value, expected):
        raise CsvError(kind, row, column, f"must be a JSON {'object' if expected is dict else 'array'}")
    if too_deep(value, text):
        raise CsvError(kind, row, column, TOO_DEEP)
    return value


class CsvStream:
    """Parses one CSV file pushed in byte chunks of any size; returns the staged records of complete rows.

    Lines reach csv.reader only up to a point where the count of quote characters is even: with RFC 4180
    quoting (a quote inside a value is doubled) that is a record boundary, so a value spanning lines or
    chunks is never cut. Each such run of whole records is read by a csv.reader of its own over an
    in-memory text (lines are split in C, not handed over one Python call at a time).
    """

    def __init__(self, kind: int, *, patch: bool, now: dt.datetime, on_invalid_row: InvalidRow | None = None) -> None:
        self.kind = kind
        self.patch = patch
        self.now = now
        # A row that does not parse is handed here (and left out) instead of failing the file.
        self.on_invalid_row = on_invalid_row
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._nul = False  # a NUL was seen: rows are checked cell by cell from then on
        self._held: list[str] = []  # whole lines inside an open quoted value (appended to, joined once)
        self._quotes = 0  # the count of quotes in them
        self._carry = ""  # an unfinished line
        self._lines = 0  # lines handed to the reader
        self._last_line = 0
        self._parser: RowParser | None = None

    def push(self, chunk: bytes) -> list[StagedRecord]:
        try:
            decoded = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            good = chunk[: exc.start].decode("utf-8", "replace")
            held = sum(text.count("\n") for text in self._held)
            row = self._lines + held + (self._carry + good).count("\n") + 1
            raise CsvError(self.kind, row, "", "invalid UTF-8") from None
        if not decoded:
            return []
        if not self._nul and "\x00" in decoded:
            self._nul = True
        # Only "\n" ends a line: str.splitlines would also split on \x1c, \u2028 and others inside values.
        text = self._carry + decoded
        end = text.rfind("\n") + 1  # past the last whole line
        if end == 0:
            self._carry = text
            return []
        whole, self._carry = text[:end], text[end:]
        quotes = self._quotes + whole.count('"')
        cut, at_cut = (end, quotes) if not quotes & 1 else self._last_even(whole)
        if cut == 0:
            self._held.append(whole)
            self._quotes = quotes
            return []
        ready = "".join(self._held) + whole[:cut] if self._held else whole[:cut]
        self._held = [whole[cut:]] if cut < end else []
        self._quotes = quotes - at_cut
        return self._parse(ready)

    def _last_even(self, whole: str) -> tuple[int, int]:
        """The end of the last line of `whole` after which the count of quotes (with the held lines') is even,
        and that count; (0, 0) when there is none: a quoted value is still open at its end."""
        cut, at_cut = 0, 0
        quotes, pos = self._quotes, 0
        while pos < len(whole):
            line_end = whole.index("\n", pos) + 1
            quotes += whole.count('"', pos, line_end)
            if not quotes & 1:
                cut, at_cut = line_end, quotes
            pos = line_end
        return cut, at_cut

    def finish(self) -> list[StagedRecord]:
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            row = self._lines + sum(text.count("\n") for text in self._held) + 1
            raise CsvError(self.kind, row, "", "invalid UTF-8 (a truncated character at the end)") from None
        lines = [line for line in ("".join(self._held) + self._carry + tail).split("\n") if line]
        self._held, self._quotes, self._carry = [], 0, ""
        staged = self._parse("".join(line + "\n" for line in lines)) if lines else []
        if self._parser is None:
            raise CsvError(self.kind, 1, "", "the file is empty: a header row is required")
        return staged

    def _parse(self, text: str) -> list[StagedRecord]:
        """The records of `text`: whole lines, each ending with "\n", ending outside any quoted value."""
        first = self._lines
        self._lines += text.count("\n")
        staged: list[StagedRecord] = []
        append = staged.append
        reader = csv.reader(io.StringIO(text), strict=True)
        try:
            for cells in reader:
                # A quoted value may span lines: a row is named by the line it starts on.
                row, self._last_line = self._last_line + 1, first + reader.line_num
                if self._parser is None:
                    if self._nul and any("\x00" in cell for cell in cells):
                        raise CsvError(
                            self.kind, 1, "", "the header contains a NUL character", ErrorReason.INVALID_CHARACTER
                        )
                    self._parser = RowParser(self.kind, cells, self.patch, self.now)
                elif cells and (len(cells) > 1 or cells[0].strip()):
                    try:
                        if self._nul:
                            self._parser.check_characters(cells, row)
                        append(self._parser.parse(cells, row))
                    except CsvError as error:
                        if self.on_invalid_row is None:
                            raise
                        error.record_id = self._parser.id_of(cells)
                        self.on_invalid_row(error, self._parser.record_of(cells))
        except csv.Error as exc:
            raise CsvError(self.kind, self._last_line + 1, "", f"malformed CSV: {exc}") from None
        return staged


def parse_file(kind: int, chunks: Iterable[bytes], *, patch: bool, now: dt.datetime) -> list[StagedRecord]:
    """All staged records of a small file (tests and tools; the worker streams with CsvStream)."""
    stream = CsvStream(kind, patch=patch, now=now)
    staged = [record for chunk in chunks for record in stream.push(chunk)]
    return staged + stream.finish()
