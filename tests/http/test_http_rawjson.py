"""A page parsed except its records (``skiff.http.rawjson``): what stays text, and when it gives up."""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
import pytest

from skiff.http.rawjson import RawRecords, parse_skipping_records


def texts(records: Any) -> list[bytes]:
    assert isinstance(records, RawRecords)
    return [bytes(r) for r in records]


def test_the_envelope_is_parsed_and_the_records_stay_text() -> None:
    page = '{"Paging":{"Page":1,"TotalPages":3},"ErrorCode":0,"Data":[{"Id":1,"Name":"Müller"},{"Id":2}]}'
    parsed = parse_skipping_records(page.encode(), "Data")
    assert parsed["Paging"] == {"Page": 1, "TotalPages": 3} and parsed["ErrorCode"] == 0
    assert texts(parsed["Data"]) == ['{"Id":1,"Name":"Müller"}'.encode(), b'{"Id":2}']


def test_other_lists_beside_the_records_are_parsed() -> None:
    parsed = parse_skipping_records(b'{"Warnings":["w",{"x":[1]}],"Total":2,"Data":[{"a":1},[2]]}', "Data")
    assert parsed["Warnings"] == ["w", {"x": [1]}] and parsed["Total"] == 2
    assert texts(parsed["Data"]) == [b'{"a":1}', b"[2]"]


def test_a_nested_path_and_a_bare_list() -> None:
    parsed = parse_skipping_records(b'{"meta":{"n":2},"a":{"items":[1,"x",{"k":[1,2]}]}}', "a.items")
    assert parsed["meta"] == {"n": 2}
    assert texts(parsed["a"]["items"]) == [b"1", b'"x"', b'{"k":[1,2]}']
    assert texts(parse_skipping_records(b'[{"a":1},{"b":2}]', "")) == [b'{"a":1}', b'{"b":2}']


def test_records_spread_over_lines_become_one_line_each() -> None:
    body = {"Data": [{"a": 1, "b": ["x\ny", 2]}, {"c": None}]}
    parsed = parse_skipping_records(json.dumps(body, indent=2).encode(), "Data")
    lines = texts(parsed["Data"])
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert [orjson.loads(line) for line in lines] == body["Data"]


@pytest.mark.parametrize(
    ("content", "path"),
    [
        (b'{"Data":{"a":1}}', "Data"),  # not a list: the usual parse makes it one record
        (b'{"Other":[1]}', "Data"),  # not there
        (b'{"a":{"b":[1]},"a.b":[2]}', "a.b"),  # a key with a dot: dotpath's exact-key rule
        (b'{"Data":[1]', "Data"),  # truncated
        (b'{"Data":[{"a":"\xff"}]}', "Data"),  # not UTF-8: only the full parse says so
        (b'{"Data":[{"a":NaN}]}', "Data"),
        (b'{"x":1e999,"Data":[1]}', "Data"),
        (b'{"x":' + b"[" * 3000 + b"]" * 3000 + b',"Data":[1]}', "Data"),  # parsed part nested too deeply
        (b'{"Data":[1]}', ""),  # the body is no list
    ],
)
def test_anything_unusual_falls_back_to_the_full_parse(content: bytes, path: str) -> None:
    assert parse_skipping_records(content, path) is None


def test_without_msgspec_installed_pages_are_parsed_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    import skiff.http.rawjson as rawjson

    monkeypatch.setitem(sys.modules, "msgspec", None)  # import msgspec raises ImportError
    monkeypatch.setattr(rawjson, "_decoders", None)
    monkeypatch.setattr(rawjson, "_missing", False)
    assert parse_skipping_records(b'{"Data":[{"a":1}]}', "Data") is None
