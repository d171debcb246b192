"""Hostile values and a JSON writer that can say what json.dumps cannot (raw number tokens, invalid UTF-8,
duplicate keys), shared by the request strategies of every path and RPC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Limits the fuzz stack runs with (tests/fuzz/conftest.py LIMITS) and the id rule's (rules R1).
ID_MAX = 256


def breaks_id_rule(value: object) -> bool:
    """Rules R1: an id (or batch context) is 1 to 256 characters, no "/", no control character (Cc), no
    leading or trailing whitespace."""
    import unicodedata

    if not isinstance(value, str):
        return True
    return (
        not 1 <= len(value) <= ID_MAX
        or "/" in value
        or any(unicodedata.category(c) == "Cc" for c in value)
        or value != value.strip()
    )


def has_nul(value: object) -> bool:
    """Whether a NUL is in any string of a JSON value (keys too); iterative, for 2,000 levels."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            pending += item
        elif isinstance(item, Pairs):
            pending += [v for pair in item.items for v in pair]
    return False


@dataclass(frozen=True)
class Raw:
    """Bytes written into the JSON text as they are: `1e400`, `"\xff"`, `-0`."""

    token: bytes


@dataclass(frozen=True)
class Pairs:
    """A JSON object written key by key, so a key may repeat."""

    items: tuple[tuple[str, Any], ...]


def dumps(value: Any) -> bytes:
    """JSON text of `value`; deep structures without recursion (2,000 levels must not break the writer)."""
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):  # punctuation pushed below
            out.append(item)
        elif isinstance(item, Raw):
            out.append(item.token)
        elif isinstance(item, dict | Pairs):
            pairs = list(item.items() if isinstance(item, dict) else item.items)
            pending: list[Any] = [b"{"]
            for i, (key, val) in enumerate(pairs):
                pending += [b"," if i else b"", _scalar(str(key)), b":", val]
            pending.append(b"}")
            stack.extend(reversed(pending))
        elif isinstance(item, list | tuple):
            pending = [b"["]
            for i, val in enumerate(item):
                pending += [b"," if i else b"", val]
            pending.append(b"]")
            stack.extend(reversed(pending))
        else:
            out.append(_scalar(item))
    return b"".join(out)


def _scalar(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, as a careless client writes them.
    return json.dumps(value, allow_nan=True).encode()


def nested(depth: int, leaf: Any = 1, key: str | None = "a") -> Any:
    """`depth` levels of objects (key given) or arrays, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {key: value} if key is not None else [value]
    return value


DEPTHS = (64, 254, 255, 256, 511, 512, 1000, 1023, 1024, 2000)

NASTY_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "\t",
    "a\nb",
    " lead",
    "trail ",
    "a/b",
    "a?b#c",
    "my item",
    "café-☕",
    "\U0001d54f",
    "\u202e",
    "\ufeff",
    "%00",
    "'; DROP TABLE records; --",
    "x" * ID_MAX,
    "x" * (ID_MAX + 1),
    "x" * 1025,
    "x" * 40_000,  # near the fuzz stack's body limits (tests/fuzz/conftest.py LIMITS)
    "None",
    "null",
)

# Number tokens as JSON text: what json.dumps of a Python value cannot write, and the edges of each type.
NUMBER_TOKENS = (
    b"1e308",
    b"-1e308",
    b"1e309",
    b"1e400",
    b"5e-324",
    b"1e-400",
    b"-0",
    b"-0.0",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"100000000000000000000",
    b"1e20",
    b"123456789012345678901234567890",
    b"9223372036854775807.5",
    b"1.7976931348623157e308",
    b"0.1",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"01",
    b"1.",
    b"+1",
)

hostile_text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=20))
numbers = st.one_of(
    st.sampled_from(NUMBER_TOKENS).map(Raw),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
wrong_types = st.sampled_from([None, True, False, 0, -1, 1.5, "", "s", [], [1], {}, {"a": 1}])
invalid_utf8 = st.sampled_from([b'"\xff"', b'"\xc3"', b'"\xed\xa0\x80"', b'"a\xfe\xffb"', b'"\xc0\x80"']).map(Raw)

leaves = st.one_of(hostile_text, numbers, wrong_types, invalid_utf8)
deep = st.builds(
    nested,
    st.sampled_from(DEPTHS),
    leaves,
    st.sampled_from(["a", None]),
)
json_values = st.one_of(
    deep,
    st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(hostile_text, children, max_size=4),
            st.lists(st.tuples(st.sampled_from(["k", "k", "x"]), children), max_size=3).map(
                lambda kv: Pairs(tuple(kv))
            ),
        ),
        max_leaves=8,
    ),
)
# An object of attributes / properties / data: hostile keys and values, sometimes a whole hostile value.
json_objects = st.one_of(
    st.dictionaries(hostile_text, json_values, max_size=4),
    st.builds(lambda d, v: {"deep": nested(d, v)}, st.sampled_from(DEPTHS), leaves),
    json_values,
)

# Garbled page tokens: base64 of JSON the service never issued, and plain junk.
_TOKEN_VALUES = [
    {"before": "x"},
    {"before": []},
    {"before": 2**70},
    {"before": -1},
    {"before": 1.5},
    {"before": None},
    {"id": 5, "context": None},
    {"id": [], "context": {}},
    {"name": {"a": 1}},
    {"name": 2**70},
    [],
    "x",
    None,
    {},
]


def page_token_of(value: Any) -> str:
    import base64

    return base64.urlsafe_b64encode(dumps(value)).decode().rstrip("=")


page_tokens = st.one_of(
    st.sampled_from(_TOKEN_VALUES).map(page_token_of),
    st.sampled_from(["", "!!!", "%00", "a", "====", "eyJiZWZvcmUiOiA", "\x00"]),
    st.text(max_size=30),
)

# Query values for integer parameters: out of range for int32 and int64, not numbers at all.
int_params = st.one_of(
    st.sampled_from(["-1", "0", "1001", "2147483648", "9223372036854775808", "1e3", "1.5", "abc", "", "%00", "0x10"]),
    st.integers(min_value=-(2**65), max_value=2**65).map(str),
)
timestamps = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01",
        "yesterday",
        "",
        "2024-01-01T00:00:00+25:00",
        "1970-01-01T00:00:00.0000000001Z",
        "-1",
        "2024-01-01T00:00:00\x00Z",
    ]
)
