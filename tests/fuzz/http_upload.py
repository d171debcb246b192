"""Strategies for PUT / PATCH /v1/catalog: CSV files with hostile cells in well-formed multipart bodies, and
malformed multipart envelopes (cut boundaries, no closing boundary, huge boundaries, parts without headers,
wrong content types)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.http_common import query, query_text
from tests.fuzz.oracle import HttpCase
from tests.fuzz.readback import read_records, same, show
from tests.fuzz.snapshot import Snapshot
from tests.fuzz.values import NASTY_TEXT

SECTION = "csv"
HEADER = ["id", "item_name", "description", "suggested_score", "metadata:color"]
SCORES = ["1", "-0", "1e308", "1e309", "1e400", "nan", "inf", "-inf", "9" * 400, "0x10", "1,5", " 2 ", "", "abc"]
BOUNDARY = "fuzzboundary"


def cell_bytes(text: str) -> bytes:
    """UTF-8, except that surrogates become the invalid bytes a broken exporter writes."""
    return text.encode("utf-8", "surrogatepass")


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def multipart(parts: list[tuple[bytes, bytes]], boundary: bytes, close: bool = True) -> bytes:
    """Parts as (headers, data), each framed by the boundary; the closing boundary when `close`."""
    body = b""
    for headers, data in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n" + data + b"\r\n"
    return body + (b"--" + boundary + b"--\r\n" if close else b"")


def file_part(name: str, data: bytes, content_type: bytes = b"text/csv") -> tuple[bytes, bytes]:
    headers = f'Content-Disposition: form-data; name="{name}"; filename="{name}.csv"\r\n'.encode()
    return headers + b"Content-Type: " + content_type + b"\r\n", data


@st.composite
def items_file(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str, list[str]]:
    """A header, rows, what is hostile, and the names an error may use."""
    header = list(HEADER)
    n_rows = draw(st.integers(0, 4))
    rows = [[f"c{i}", f"Name {i}", f"desc {i}", str(i), "red"] for i in range(n_rows)]
    names = ["items.csv", "row", "column"]
    spots = draw(st.lists(st.sampled_from(["cell", "score", "header", "width", "id"]), max_size=2, unique=True))
    what = []
    for spot in spots:
        if spot == "cell" and rows:
            row, col = draw(st.integers(0, len(rows) - 1)), draw(st.integers(1, len(header) - 1))
            rows[row][col] = draw(st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=10)))
            what.append("cell " + header[col])
            names.append(header[col])
        elif spot == "id" and rows:
            rows[draw(st.integers(0, len(rows) - 1))][0] = draw(st.sampled_from(NASTY_TEXT))
            what.append("id")
            names.append("id")
        elif spot == "score" and rows:
            rows[draw(st.integers(0, len(rows) - 1))][3] = draw(st.sampled_from(SCORES))
            what.append("suggested_score")
            names.append("suggested_score")
        elif spot == "header":
            column = draw(
                st.sampled_from(
                    [
                        "metadata:url",
                        "metadata:active",
                        "metadata:group_ids",
                        "metadata:facets",
                        "metadata:",
                        "id",
                        "colour",
                        "",
                        "facet:",
                        "metadata:description",
                        "\x00",
                    ]
                )
            )
            header.append(column)
            for r in rows:
                r.append("x")
            what.append("column " + column)
            names.append(column or "header")
        elif spot == "width" and rows:
            rows[draw(st.integers(0, len(rows) - 1))].append("extra")
            what.append("row width")
            names.append("cells")
    return header, rows, ",".join(what) or "nothing", names


def _verify_upload(method: str, header: list[str], rows: list[list[str]], patch_delta: bool):
    async def verify(stack: Any, answer: Any, before: Snapshot, after: Snapshot) -> list[str]:
        ids = [r[0] for r in rows]
        status, stored, text = await read_records(stack, SECTION, "items", ids)
        if status != 200:
            return [f"read back GET /v2/items answered {status}: {text}"]
        problems = []
        if method == "PUT":
            status, everything, text = await read_records(stack, SECTION, "items", [])
            if status == 200 and (extra := {k for k in everything if k[0] not in ids}):
                problems.append(f"a sync kept records not in the file: {sorted(extra)[:3]}")
        for row in rows:
            got = stored.get((row[0], ""))
            if got is None:
                problems.append(f"row id {row[0]!r} not stored")
                continue
            cells = dict(zip(header, row, strict=False))
            expected_data = {}
            if cells.get("description"):
                expected_data["description"] = cells["description"]
            for column, value in cells.items():
                if column.startswith("metadata:") and value:
                    expected_data[column.split(":", 1)[1]] = value
            if patch_delta:
                expected_data = {k: v for k, v in expected_data.items()}
                if any(not same(v, got["data"].get(k)) for k, v in expected_data.items()):
                    problems.append(f"{row[0]!r}: data {show(got['data'])} lacks {show(expected_data)}")
            elif not same(expected_data, got["data"]):
                problems.append(f"{row[0]!r}: data sent {show(expected_data)}, read back {show(got['data'])}")
            if (cells.get("item_name") or None) != got.get("name") and not (patch_delta and not cells.get("item_name")):
                problems.append(f"{row[0]!r}: name sent {cells.get('item_name')!r}, read back {got.get('name')!r}")
            score = cells.get("suggested_score", "").strip()
            if score and not same(float(score), got.get("suggested_score")):
                problems.append(f"{row[0]!r}: suggested_score sent {score!r}, read back {got.get('suggested_score')!r}")
        return problems

    return verify


ENVELOPES = [
    "cut anywhere",
    "no closing boundary",
    "closing boundary without CRLF",
    "huge boundary",
    "boundary of 71 characters",
    "part without headers",
    "part without a name",
    "unknown form field",
    "same file twice",
    "body uses another boundary",
    "content type text/csv",
    "content type application/json",
    "multipart without boundary",
    "multipart/mixed",
    "quoted boundary",
    "no content type",
    "empty body",
    "preamble and epilogue",
    "header line never ends",
    "not multipart at all",
]


@st.composite
def upload(draw: st.DrawFn) -> HttpCase:
    method = draw(st.sampled_from(["PUT", "PATCH"]))
    hostile = {
        "section": query_text,
        "key": query_text,
        "force": query_text,
        "patch_delta": query_text,
        "notification_email": query_text,
    }
    qs, qnames = draw(query({"key": "acme", "section": SECTION, "force": "true"}, hostile))
    header, rows, what, names = draw(items_file())
    data = cell_bytes(csv_text([header, *rows]))
    boundary = BOUNDARY.encode()
    parts = [file_part("items", data)]
    body = multipart(parts, boundary)
    content_type = "multipart/form-data; boundary=" + BOUNDARY
    envelope = draw(st.sampled_from(["well formed"] * 8 + ENVELOPES))
    names = [*names, *qnames]
    if envelope != "well formed":
        what = envelope
        names = ["body", "multipart", "boundary", "content-type", "part", "file", "form field", "items", *qnames]
        if envelope == "cut anywhere":
            # At least into the closing "--": the CRLF after it is optional (RFC 2046), so a body cut only
            # there is whole (its own envelope, "closing boundary without CRLF", expects it accepted).
            body = body[: draw(st.integers(0, len(body) - 3))]
        elif envelope == "no closing boundary":
            body = multipart(parts, boundary, close=False)
        elif envelope == "closing boundary without CRLF":
            body = body[:-2]
        elif envelope in ("huge boundary", "boundary of 71 characters"):
            big = b"b" * (100_000 if envelope == "huge boundary" else 71)
            body, content_type = multipart(parts, big), "multipart/form-data; boundary=" + big.decode()
        elif envelope == "part without headers":
            body = multipart([(b"", data)], boundary)
        elif envelope == "part without a name":
            body = multipart([(b"Content-Disposition: form-data\r\n", data)], boundary)
        elif envelope == "unknown form field":
            body = multipart([file_part(draw(st.sampled_from(["itemz", "items.csv", "\x00", ""])), data)], boundary)
        elif envelope == "same file twice":
            body = multipart([*parts, *parts], boundary)
        elif envelope == "body uses another boundary":
            body = multipart(parts, b"other")
        elif envelope == "content type text/csv":
            content_type = "text/csv"
        elif envelope == "content type application/json":
            content_type = "application/json"
        elif envelope == "multipart without boundary":
            content_type = "multipart/form-data"
        elif envelope == "multipart/mixed":
            content_type = "multipart/mixed; boundary=" + BOUNDARY
        elif envelope == "quoted boundary":
            content_type = f'multipart/form-data; boundary="{BOUNDARY}"'
        elif envelope == "no content type":
            content_type = ""
        elif envelope == "empty body":
            body = b""
        elif envelope == "preamble and epilogue":
            body = b"preamble\r\n" + body + b"epilogue"
        elif envelope == "header line never ends":
            body = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="items"' + b"x" * 5000
        else:
            body = data
    headers = {"Content-Type": content_type} if content_type else {}
    well_formed = envelope in (
        "well formed",
        "quoted boundary",
        "preamble and epilogue",
        "closing boundary without CRLF",
    )
    verify = None
    if well_formed and not qnames:
        verify = _verify_upload(method, header, rows, False)
    must_refuse = ""
    if envelope in ("cut anywhere", "no closing boundary", "header line never ends"):
        must_refuse = "the upload did not end properly (R10)"
    return HttpCase(
        f"{method} /v1/catalog",
        what,
        method,
        "/v1/catalog",
        qs,
        body,
        headers,
        names=tuple(names),
        verify=verify,
        must_refuse=must_refuse,
    )


FRAMINGS = [
    "Content-Length beyond the body",
    "Content-Length short of the body",
    "Content-Length not a number",
    "Content-Length negative",
    "Content-Length twice, different",
    "chunked without its last chunk",
    "chunked with a bad chunk size",
]


@st.composite
def upload_framing(draw: st.DrawFn) -> HttpCase:
    """A complete multipart body whose HTTP framing lies about it: sent on a socket."""
    method = draw(st.sampled_from(["PUT", "PATCH"]))
    body = multipart([file_part("items", b"id,item_name\r\nf1,F1\r\n")], BOUNDARY.encode())
    framing = draw(st.sampled_from(FRAMINGS))
    head = f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n".encode()
    n = len(body)
    if framing == "Content-Length beyond the body":
        raw = head + f"Content-Length: {n + draw(st.integers(1, 1000))}\r\n\r\n".encode() + body
    elif framing == "Content-Length short of the body":
        # At least the closing "--\r\n" cut: without only its final CRLF (optional, RFC 2046) the body is whole,
        # and the bytes after it are the next request on the connection.
        raw = head + f"Content-Length: {draw(st.integers(1, n - 3))}\r\n\r\n".encode() + body
    elif framing == "Content-Length not a number":
        raw = head + b"Content-Length: 12abc\r\n\r\n" + body
    elif framing == "Content-Length negative":
        raw = head + b"Content-Length: -1\r\n\r\n" + body
    elif framing == "Content-Length twice, different":
        raw = head + f"Content-Length: {n}\r\nContent-Length: {n - 10}\r\n\r\n".encode() + body
    elif framing == "chunked without its last chunk":
        raw = head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{n:x}\r\n".encode() + body + b"\r\n"
    else:
        raw = head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + b"\r\n0\r\n\r\n"
    return HttpCase(
        f"{method} /v1/catalog",
        framing,
        method,
        "/v1/catalog",
        f"key=acme&section={SECTION}&force=true",
        body,
        names=("body", "content-length", "multipart", "boundary"),
        raw=raw,
        must_refuse="the body did not arrive as framed (R10)",
    )
