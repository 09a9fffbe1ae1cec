"""JsonLines: orjson output equal to the json.dumps lines the CLI wrote before."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from skiff.cli.output import JsonLines, dumps_line


def _old(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()


@dataclass
class _Point:
    x: int


VALUES: list[object] = [
    {"Id": 1, "Name": "Schulstraße", "Tags": ["Express", "€"], "Price": 4.9, "Ok": True, "None": None},
    [1, 2.5, "x", {"nested": {"deep": [None, False]}}],
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    {"when": datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "amount": Decimal("1.10"), "point": _Point(3)},
    {"big": 2**70, "neg": -(2**65)},  # beyond 64 bits: the json fallback
    "a bare string",
    12345,
]


def test_each_line_is_what_json_dumps_wrote() -> None:
    for value in VALUES:
        assert dumps_line(value) == _old(value), value


def test_writes_bytes_to_the_buffer_of_a_text_stream_in_order() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    stream.write("before\n")  # held by the text layer: must come out first
    lines = JsonLines(stream)
    lines.write({"a": "ä"})
    lines.write([1])
    lines.flush()
    assert raw.getvalue() == 'before\n{"a":"ä"}\n[1]\n'.encode()


def test_a_stream_without_a_buffer_gets_text() -> None:
    stream = io.StringIO()
    lines = JsonLines(stream)
    lines.write({"a": 1})
    lines.flush()
    assert stream.getvalue() == '{"a":1}\n'
