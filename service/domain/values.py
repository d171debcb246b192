"""R5: which JSON values a record may hold, and their canonical text; one check for every write path.

A value is stored only if it reads back equal on both backends. PostgreSQL keeps a jsonb number as
`numeric` and prints it without exponent; the reader parses integers as int64 and anything with a
fraction as a double. So:
- integers must fit a signed 64 bit integer;
- floats must be finite with a magnitude under 2^63 (the boundary the lead fixed; larger doubles would
  round-trip through numeric, but most JSON readers would read them back as integers of another value);
- an integral float is written with all its digits and a ".0" (`1.2345678901234568e+18` becomes
  `1234567890123456768.0`): numeric keeps the scale, so it reads back as that very double, where the
  shortest form would read back as the integer 1234567890123456800;
- `-0.0` is written as `0.0` (numeric has no negative zero; both backends then read back the same);
- no string or key holds NUL (PostgreSQL text and jsonb cannot) or a lone surrogate (not UTF-8).
Decimals with more digits than a double holds are read (by the JSON parser, before any check) as the
nearest double: `0.1000000000000000000000001` is 0.1 and `1e-400` is 0.0.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_LIMIT = 2.0**63
# From this magnitude on, orjson writes a float with an exponent, which numeric turns into an integer.
_EXPONENT_FROM = 1e16
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
MAX_PROBLEMS = 20


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (NUL, a lone surrogate), or None."""
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters (\\u0000)"
    return "must not contain lone surrogates (not valid UTF-8)"


def number_problem(value: int | float) -> str | None:
    """Why a number cannot read back as sent, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return f"integer {value} is outside the signed 64-bit range (-9223372036854775808 to 9223372036854775807)"
    if not math.isfinite(value):
        return "must be a finite number"
    if abs(value) >= FLOAT_LIMIT:
        return f"number {show(value)} has a magnitude of 2^63 or more, which cannot be stored exactly"
    return None


def check(value: Any, where: str) -> tuple[Any, list[tuple[str, str]]]:
    """The value in canonical form (see `dumps`) and what is wrong with it as (path, problem), at most 20.

    Paths extend `where`: `data.price`, `data.tags[2]`, `data.dims.w`."""
    if _plain(value) is not None:
        return value, []
    problems: list[tuple[str, str]] = []
    return _walk(value, where, problems), problems


def check_json(value: Any, where: str) -> tuple[Any, list[tuple[str, str]]]:
    """`check`, but a value that needs no rewrite comes back as its JSON text (an orjson.Fragment, which the
    store's JSON serializer, orjson, writes as it is): serialized once, not again when stored."""
    text = _plain(value)
    if text is not None:
        return orjson.Fragment(text), []
    problems: list[tuple[str, str]] = []
    return _walk(value, where, problems), problems


# In orjson's text of a value, what any value to refuse or rewrite shows (and some harmless ones: a long digit
# run in a string, a small float with an exponent), so that most values skip the walk: NUL, 16 digits in a row
# (integers from 1e15 on, positional floats from 2^53 on), an exponent, a negative zero.
_SUSPECT = re.compile(rb"[0-9](?:[eE]|[0-9]{15})|\\u0000|-0[.eE]")


def _plain(value: Any) -> bytes | None:
    """orjson's text of a value that needs neither a refusal nor a rewrite (a regex over C output is ~10x faster
    than walking the value in Python); None when the value must be walked."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # an integer past 64 bits
        return None
    return None if _SUSPECT.search(text) else text


def _walk(value: Any, where: str, problems: list[tuple[str, str]]) -> Any:
    if len(problems) >= MAX_PROBLEMS:
        return value
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            problems.append((where, problem))
        return value
    if isinstance(value, float):
        if (problem := number_problem(value)) is not None:
            problems.append((where, problem))
            return value
        if value == 0.0:
            return 0.0
        if abs(value) >= _EXPONENT_FROM:  # integral at this size
            return orjson.Fragment(f"{int(value)}.0")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if (problem := number_problem(value)) is not None:
            problems.append((where, problem))
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            problem = text_problem(key) if isinstance(key, str) else None
            # A key that cannot be stored is named escaped: the message naming it is stored too.
            segment = json.dumps(key) if problem is not None else str(key)
            path = f"{where}.{segment}" if where else segment
            if problem is not None:
                problems.append((path, f"key {problem}"))
            out[key] = _walk(item, path, problems)
        return out
    if isinstance(value, list):
        return [_walk(item, f"{where}[{i}]", problems) for i, item in enumerate(value)]
    return value


def plain_canonical(value: Any) -> str | None:
    """The canonical text of a value that needs no rewrite and has no problem (nearly all), serialized once:
    its sorted text is both what `_plain` checks and what `dumps` writes (sorting keys changes no token);
    None when the value must be walked (`canonical`)."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer past 64 bits
        return None
    return None if _SUSPECT.search(text) else text.decode()


def canonical(value: Any, where: str) -> tuple[str, list[tuple[str, str]]]:
    """`dumps` and `check` in one: the canonical text of a value (empty when it has problems) and its problems.

    A value that needs no rewrite (nearly all) is serialized once: its sorted text is both what `_plain` checks
    and what `dumps` would write (sorting keys changes no token)."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer past 64 bits
        text = None
    if text is not None and not _SUSPECT.search(text):
        return text.decode(), []
    problems: list[tuple[str, str]] = []
    walked = _walk(value, where, problems)
    return ("" if problems else orjson.dumps(walked, option=orjson.OPT_SORT_KEYS).decode()), problems


def dumps(value: Any) -> str:
    """The canonical JSON text of a checked value, keys sorted (re-sending a record compares equal)."""
    canonical, _ = check(value, "")
    return orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes) -> Any:
    """Stored JSON, read so that no stored value fails a read: orjson first (fast; integers past 64 bits become
    doubles), then, for what orjson refuses (a number past the double range, stored by an older version), a
    parser that keeps such a number as a double or, past the double range too, as its text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_int=_lenient_number, parse_float=_lenient_number, parse_constant=str)


def _lenient_number(text: str) -> int | float | str:
    if "." not in text and "e" not in text and "E" not in text and len(text) <= 19:
        number = int(text)
        if INT64_MIN <= number <= INT64_MAX:
            return number
    value = float(text)
    return value if math.isfinite(value) else text


def show(value: Any, limit: int = 60) -> str:
    """A value as JSON for a message (never a Python repr), cut to `limit` characters."""
    try:
        rendered = orjson.dumps(value).decode()
    except TypeError:
        rendered = json.dumps(value, ensure_ascii=False, default=str)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."
