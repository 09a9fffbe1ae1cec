"""skiff.http.bodies: dot paths, record lists, body kinds, XML and vendor error bodies."""

from __future__ import annotations

import pytest

from skiff.http import MISSING, get_path, has_path, parse_xml, to_records, vendor_error
from skiff.http.bodies import body_kind, parse_body


def test_get_path() -> None:
    body = {"Paging": {"TotalPages": 3}, "clients": {"@total": "7", "client": [{"id": "1"}]}, "a.b": 5}
    assert get_path(body, "Paging.TotalPages") == 3
    assert get_path(body, "clients.@total") == "7"
    assert get_path(body, "clients.client.0.id") == "1"
    assert get_path(body, "clients.client.-1.id") == "1"
    assert get_path(body, "a.b") == 5
    assert get_path(body, None) is body
    assert get_path(body, "nope.x") is None
    assert get_path(body, "nope", MISSING) is MISSING
    assert get_path(body, "clients.client.5") is None
    assert has_path(body, "Paging") and not has_path(body, "Data")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("", []), ([], []), ([1, 2], [1, 2]), ({"id": 1}, [{"id": 1}])],
)
def test_to_records_normalises_billomat_quirks(value: object, expected: list[object]) -> None:
    assert to_records(value) == expected


@pytest.mark.parametrize(
    ("ctype", "content", "kind"),
    [
        ("application/json; charset=utf-8", b"{}", "json"),
        ("application/problem+json", b"{}", "json"),
        ("application/xml", b"<a/>", "xml"),
        ("text/xml", b"<a/>", "xml"),
        ("text/html", b"<html></html>", "html"),
        ("text/plain", b'{"a": 1}', "json"),
        ("", b"<!DOCTYPE html><html>", "html"),
        ("text/plain", b"hello", "text"),
        ("application/pdf", b"%PDF-1.4", "binary"),
        ("application/json", b"", "empty"),
    ],
)
def test_body_kind(ctype: str, content: bytes, kind: str) -> None:
    assert body_kind(ctype, content) == kind


def test_parse_xml_billomat_shapes() -> None:
    many = parse_xml(
        b'<?xml version="1.0"?><clients page="1" per_page="100" total="2">'
        b"<client><id>1</id><name>A</name></client><client><id>2</id><name>B</name></client></clients>"
    )
    assert get_path(many, "clients.@total") == "2"
    assert [c["name"] for c in to_records(get_path(many, "clients.client"))] == ["A", "B"]
    one = parse_xml(b'<clients total="1"><client><id>1</id></client></clients>')
    assert to_records(get_path(one, "clients.client")) == [{"id": "1"}]
    empty = parse_xml(b'<clients total="0"/>')
    assert to_records(get_path(empty, "clients.client")) == []


def test_rails_typed_xml_is_untyped_only_when_declared() -> None:
    typed = b'<client><id type="integer">5</id><tags type="array"><tag>a</tag></tags><note/></client>'
    assert parse_xml(typed, untype=True) == {"client": {"id": "5", "tags": {"tag": "a"}, "note": ""}}
    assert parse_xml(typed) == {
        "client": {"id": {"@type": "integer", "#text": "5"}, "tags": {"@type": "array", "tag": "a"}, "note": None}
    }


def test_parse_xml_refuses_entities() -> None:
    evil = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(ValueError):
        parse_body(evil, "xml")


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"ErrorMessage": "Invalid data", "ErrorCode": 11, "Data": None}, "Invalid data", 11),
        ({"errorCode": 99404, "errorMessage": "entity not found"}, "entity not found", 99404),
        ({"errors": {"error": "Client not found"}}, "Client not found", None),
        ({"errors": {"error": ["a is missing", "b is wrong"]}}, "a is missing; b is wrong", None),
        ({"errors": ["first", "second"]}, "first; second", None),
        ({"message": "Bad thing", "code": "E1"}, "Bad thing", "E1"),
        ({"unrelated": 1}, None, None),
        ("plain text error", "plain text error", None),
    ],
)
def test_vendor_error_shapes(body: object, message: str | None, code: object) -> None:
    assert vendor_error(body) == (message, code)


def test_vendor_error_billomat_xml() -> None:
    body = parse_xml(b"<errors><error>Maximum number of requests reached.</error></errors>")
    assert vendor_error(body) == ("Maximum number of requests reached.", None)
