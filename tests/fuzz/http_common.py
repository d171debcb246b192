"""Pieces every REST strategy uses: hostile query strings and malformed JSON envelopes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.values import Pairs, dumps, hostile_text

UNKNOWN_PARAMS = ("forse", "sectoin", "x", "id[]")


def encode_query(params: list[tuple[str, str | bytes]]) -> str:
    """Percent-encoded query; str values as UTF-8 (lone surrogates pass through as invalid bytes), bytes as is."""

    def enc(value: str | bytes) -> str:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        return quote(raw, safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in params)


# httpx refuses a URL over 65,536 characters.
QUERY_LIMIT = 60_000
query_text = st.one_of(hostile_text, st.sampled_from([b"\xff", b"a\xc3", b"\xed\xa0\x80"]))


@st.composite
def query(
    draw: st.DrawFn, base: dict[str, str], hostile: dict[str, st.SearchStrategy[Any]], extra_unknown: bool = True
) -> tuple[str, tuple[str, ...]]:
    """The base parameters with 0-2 of them (or of `hostile`'s others) given hostile values, sometimes an
    unknown parameter or a singular one repeated. Returns the query and the parameter names an error may name."""
    params: dict[str, list[str | bytes]] = {k: [v] for k, v in base.items()}
    names: list[str] = []
    for name in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=2, unique=True)) if hostile else []:
        params[name] = [draw(hostile[name])]
        names.append(name)
    if extra_unknown and draw(st.integers(0, 9)) == 0:
        unknown = draw(st.sampled_from(UNKNOWN_PARAMS))
        params.setdefault(unknown, []).append("true")
        names.append(unknown)
    if base and draw(st.integers(0, 14)) == 0:
        repeated = draw(st.sampled_from(sorted(base)))
        params[repeated] = [*params[repeated], "Other"]
        names.append(repeated)
    flat = [(k, v) for k, values in params.items() for v in values]
    encoded = encode_query(flat)
    while len(encoded) > QUERY_LIMIT:  # two 40 KB values: the longest is halved until the URL is one httpx sends
        longest = max(range(len(flat)), key=lambda i: len(flat[i][1]))
        flat[longest] = (flat[longest][0], flat[longest][1][: len(flat[longest][1]) // 2])
        encoded = encode_query(flat)
    return encoded, tuple(names)


def envelope_bodies(valid: Any, limit: int) -> st.SearchStrategy[tuple[str, bytes]]:
    """Malformed JSON around a valid-shaped body: truncated, empty, not UTF-8, wrong top-level type,
    duplicate keys, and sizes near and over `limit`."""
    text = dumps(valid)

    def padded(size: int) -> bytes:
        # A JSON body of exactly `size` bytes: the valid body followed by whitespace (still valid JSON).
        return text + b" " * max(0, size - len(text))

    duplicated = text
    if isinstance(valid, dict):
        # Every key twice, the second time with an empty list: which one a reader keeps must not matter.
        duplicated = dumps(Pairs((*valid.items(), *((k, []) for k in valid))))
    elif isinstance(valid, list) and valid and isinstance(valid[0], dict):
        duplicated = dumps([Pairs((*valid[0].items(), *valid[0].items())), *valid[1:]])
    return st.one_of(
        st.just(("duplicate keys", duplicated)),
        st.integers(1, max(1, len(text) - 1)).map(lambda n: ("truncated JSON", text[:n])),
        st.sampled_from(
            [
                ("empty body", b""),
                ("whitespace body", b"  \n"),
                ("null body", b"null"),
                ("body is a string", b'"items"'),
                ("body is a number", b"1e400"),
                ("body is an array", b"[]"),
                ("body is an object", b"{}"),
                ("not UTF-8", b"\xff\xfe" + text),
                ("UTF-16 body", text.decode("utf-8", "replace").encode("utf-16")),
                ("BOM then JSON", b"\xef\xbb\xbf" + text),
                ("NUL byte in body", text[:1] + b"\x00" + text[1:]),
                ("trailing garbage", text + b"}"),
                ("two JSON documents", text + text),
                ("lone surrogate escape", text[:-1] + (b',"\\ud800":1}' if text.endswith(b"}") else b"]")),
                ("body at the limit", padded(limit)),
                ("body one byte over the limit", padded(limit + 1)),
                ("body far over the limit", padded(limit * 3)),
                ("deeply nested body", b"[" * 2000 + b"]" * 2000),
                ("deeply nested body", b'{"a":' * 1024 + b"1" + b"}" * 1024),
            ]
        ),
    )
