"""CsvStream: a file parses the same whatever the chunks it arrives in (a quoted value spanning lines and
chunks, CRLF, blank lines, a multi-byte character cut in two), and a row is named by the line it starts on."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.csv_records import ITEM, ITEM_GROUP, CsvError, CsvStream, parse_file

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)

ITEMS = (
    "id,item_name,description,keywords,facet:color\r\n"
    'a-1,"Shoe, red","line one\nline two ""quoted""\nline three",x|y,red|blue\r\n'
    "\r\n"
    'a-2,Café,"",,\n'
    '"a-3","""Q""",plain, z ,green\n'
    "\n"
    'a-4,Last,"ends the file\nwithout a newline",k,black'
).encode()


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_every_chunking_parses_like_the_whole_file() -> None:
    whole = parse_file(ITEM, [ITEMS], patch=False, now=NOW)
    assert [r.record_id for r in whole] == ["a-1", "a-2", "a-3", "a-4"]
    assert whole[0].name == "Shoe, red"
    assert '"description":"line one\\nline two \\"quoted\\"\\nline three"' in whole[0].data
    assert whole[2].name == '"Q"' and '"keywords":["z"]' in whole[2].data
    assert '"description":"ends the file\\nwithout a newline"' in whole[3].data
    # Each row's seq holds the line it starts on (a blank line counts).
    assert [r.seq & 0xFFFF for r in whole] == [2, 6, 7, 9]
    for size in range(1, len(ITEMS) + 1):
        assert parse_file(ITEM, _chunked(ITEMS, size), patch=False, now=NOW) == whole, size


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_a_bad_row_after_a_multiline_value_is_named_by_its_first_line(size: int) -> None:
    data = b'id,name,parent_ids,data\ng1,"two\nlines",[],{}\ng2,x,[],"{""a"": \n1}"\ng3,y,not json,{}\n'
    with pytest.raises(CsvError) as failed:
        parse_file(ITEM_GROUP, _chunked(data, size), patch=False, now=NOW)
    assert failed.value.args[0].startswith("item_groups.csv, row 6, column 'parent_ids': invalid JSON")


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_invalid_utf8_names_its_row(size: int) -> None:
    data = b"id,item_name\na-1,ok\na-2,\xff\n"
    stream = CsvStream(ITEM, patch=False, now=NOW)
    with pytest.raises(CsvError) as failed:
        for chunk in _chunked(data, size):
            stream.push(chunk)
        stream.finish()
    assert failed.value.args[0] == "items.csv, row 3: invalid UTF-8"


def test_an_unterminated_quoted_value_fails_the_file() -> None:
    with pytest.raises(CsvError) as failed:
        parse_file(ITEM, [b'id,item_name\na-1,"open\n', b"still open\n"], patch=False, now=NOW)
    assert "malformed CSV" in failed.value.args[0]


def test_a_stray_quote_in_an_unquoted_value_is_kept_and_the_rest_still_parses() -> None:
    # An inch mark leaves the quote count odd up to the next one: the lines between are held, then parsed.
    data = ("id,item_name\n" + 'a-0,5" boot\n' + "".join(f"a-{n},plain {n}\n" for n in range(1, 3000))).encode()
    for size in (100, 4096, len(data)):
        staged = parse_file(ITEM, _chunked(data, size), patch=False, now=NOW)
        assert len(staged) == 3000 and staged[0].name == '5" boot' and staged[-1].record_id == "a-2999", size
