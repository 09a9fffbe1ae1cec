"""Records left as JSON text: a page parsed except its records, for an output that only writes them.

A sync that prints every record as one JSON line (``skiff run`` of a declarative list without
an out-schema) has no use for records as Python objects: parsing 50,000 of them into dicts
and encoding them again was half its CPU time. Here the page is parsed except the list at the
records path, whose items stay the server's own JSON text (``msgspec.Raw`` spans of the page,
no copy). The rest of the body (the envelope's error code, ``Paging.TotalPages``) is parsed
as usual, so envelope checks and paging read what they always read.

Each item is one line of output as it is: a record the server spread over several lines is
re-encoded compactly. Anything unusual (the path not there, a key with dots in it, not a list,
invalid JSON or UTF-8) gives ``None``, and the caller parses the whole body the ordinary way,
which also reports what is wrong with it exactly as before. The records themselves are checked
for well-formed JSON, not for nesting depth: they are never turned into objects.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["RawRecords", "parse_skipping_records"]


class RawRecords(list[Any]):
    """The records of one page as JSON text (buffers, one line each), in order; never parsed."""

    __slots__ = ()


_decoders: tuple[Any, Any, Any] | None = None
_missing = False


def _msgspec() -> tuple[Any, Any, Any] | None:
    """Decoders: an object's members as spans; a list's items as spans; an object whose lists'
    items are spans and whose other members are parsed (one pass over an envelope)."""
    global _decoders, _missing
    if _decoders is None and not _missing:
        try:
            import msgspec  # only a run that wants raw records pays its import
        except ImportError:  # an environment installed before it was a dependency: parse as before
            _missing = True
            return None

        raw: Any = msgspec.Raw
        spans: Any = list[raw]
        member: Any = spans | dict | str | int | float | bool | None
        _decoders = (
            msgspec.json.Decoder(dict[str, raw]),
            msgspec.json.Decoder(spans),
            msgspec.json.Decoder(dict[str, member]),
        )
    return _decoders


def parse_skipping_records(content: bytes, path: str) -> Any | None:
    """The JSON ``content`` parsed, except the list at the dot path ``path`` (``""``: the body
    itself), whose items stay JSON text in a :class:`RawRecords`; ``None`` when that cannot be done."""
    if not content.isascii():
        try:
            content.decode("utf-8")  # the span finder does not check UTF-8; orjson would
        except UnicodeDecodeError:
            return None
    one_line = b"\n" not in content and b"\r" not in content
    decoders = _msgspec()
    if decoders is None:
        return None
    try:
        return _parse(decoders, content, path.split(".") if path else [], one_line)
    except (ValueError, RecursionError, TypeError):  # msgspec.DecodeError and orjson's are ValueErrors
        return None


def _records(items: list[Any], one_line: bool) -> RawRecords:
    return RawRecords(items if one_line else [_one_line(item) for item in items])


def _parse(decoders: tuple[Any, Any, Any], content: Any, keys: list[str], one_line: bool) -> Any | None:
    as_object, as_list, envelope = decoders
    if not keys:
        return _records(as_list.decode(content), one_line)
    if len(keys) == 1:
        # The usual envelope ({Paging, ErrorCode, Data: [...]}): one pass, the records' spans and
        # the other members parsed; only when another member is a list too, the two passes below.
        fields = envelope.decode(content)
        records = fields.get(keys[0])
        if not isinstance(records, list):
            return None
        if sum(isinstance(value, list) for value in fields.values()) == 1:
            fields[keys[0]] = _records(records, one_line)
            return fields
    fields = as_object.decode(content)
    key = keys[0]
    if key not in fields or (len(keys) > 1 and ".".join(keys) in fields):
        return None  # not there, or a key with dots in it (dotpath's exact-key rule): the usual parse
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == key:
            inner = _parse(decoders, value, keys[1:], one_line)
            if inner is None:
                return None
            out[name] = inner
        else:
            out[name] = orjson.loads(memoryview(value))
    return out


def _one_line(item: Any) -> Any:
    text = bytes(item)
    if b"\n" in text or b"\r" in text:
        return orjson.dumps(orjson.loads(text))
    return item
