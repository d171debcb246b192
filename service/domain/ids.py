"""R1: what a record id (and a batch `context`) may be, the same for every API and every kind of record.

An id is 1 to 256 characters, holds no `/` (ids go into URL paths), no control character (Unicode
category Cc: NUL, tab, newline, ...) and no leading or trailing whitespace. Everything else is allowed:
inner spaces, any Unicode, `?`, `#`. A context follows the same rule but may be empty.
"""

from __future__ import annotations

import re

from service.errors import InvalidArgument

MAX_ID_LENGTH = 256
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A valid id in one match (the common case, checked for every row of a file): no '/' or control character,
# 1 to 256 characters, no whitespace (str.isspace, which is what \s matches in a str pattern) at either end.
_END = "[^\\s/\x00-\x1f\x7f-\x9f]"
_VALID = re.compile(f"{_END}(?:[^/\x00-\x1f\x7f-\x9f]{{0,{MAX_ID_LENGTH - 2}}}{_END})?")


def id_problem(value: str, *, required: bool = True) -> str | None:
    """Why `value` is not a valid id (or context, with required=False), worded to follow the field's name."""
    if _VALID.fullmatch(value):
        return None
    if not value:
        return "must not be empty" if required else None
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters (got {len(value)})"
    if "/" in value:
        return "must not contain '/'"
    if (found := _CONTROL.search(value)) is not None:
        name = "NUL" if found.group() == "\x00" else f"U+{ord(found.group()):04X}"
        return f"must not contain control characters ({name})"
    if value[0].isspace() or value[-1].isspace():
        return "must not begin or end with whitespace"
    return None


def check_record_key(record_id: str, context: str) -> None:
    """A single-record path's id and context, each problem a field violation (INVALID_ARGUMENT)."""
    violations = []
    if problem := id_problem(record_id):
        violations.append(("id", problem))
    if problem := id_problem(context, required=False):
        violations.append(("context", problem))
    if violations:
        raise InvalidArgument(f"{violations[0][0]}: {violations[0][1]}", field_violations=violations)
