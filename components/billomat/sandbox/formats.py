"""Billomat's wire formats: typed XML by default, JSON on request, both accepted as request bodies.

Records are stored with Python types (int, float, str, None, lists of dicts for nested arrays such
as ``taxes``); this module renders them the way Billomat does: in XML with ``type`` attributes, in
JSON with every scalar as a string (booleans ``1``/``0``, empty values ``""``), a one-element list
as a bare object and an empty list without its item key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast
from xml.sax.saxutils import escape

import xmltodict
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "DATETIME_FIELDS",
    "DATE_FIELDS",
    "NESTED_ITEMS",
    "Format",
    "InvalidBody",
    "error_body",
    "json_value",
    "list_body",
    "negotiate",
    "parse_body",
    "record_body",
    "render",
    "xml_document",
]

Format = Literal["json", "xml", "pdf"]

DATETIME_FIELDS = frozenset({"created", "updated"})
DATE_FIELDS = frozenset({"date", "due_date", "supply_date", "validity_date", "discount_date"})
# Nested arrays and the element name of their items (XML: <taxes type="array"><tax>...).
NESTED_ITEMS = {"taxes": "tax"}

XML_TYPE = "application/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"


class InvalidBody(ValueError):
    """A request body that is neither valid JSON nor valid XML."""


def negotiate(request: Request) -> Format:
    """``?format=`` wins, then the Accept header; XML is the default like the real API."""
    fmt = request.query_params.get("format", "").lower()
    if fmt in ("json", "xml", "pdf"):
        return cast(Format, fmt)
    accept = request.headers.get("accept", "").lower()
    if "application/json" in accept or "text/json" in accept:
        return "json"
    if "application/pdf" in accept and "xml" not in accept:
        return "pdf"
    return "xml"


# ------------------------------------------------------------------ rendering


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def json_value(key: str, value: Any) -> Any:
    """One field as Billomat's JSON shows it: strings everywhere, nested arrays with the list quirk."""
    if isinstance(value, list):
        item = NESTED_ITEMS.get(key, key.rstrip("s"))
        if not value:
            return ""
        rendered = [{k: json_value(k, v) for k, v in row.items() if not k.startswith("_")} for row in value]
        return {item: rendered[0] if len(rendered) == 1 else rendered}
    if isinstance(value, dict):
        return {k: json_value(k, v) for k, v in value.items() if not k.startswith("_")}
    return _scalar(value)


def _json_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_value(k, v) for k, v in record.items() if not k.startswith("_")}


def _xml_type(key: str, value: Any) -> str | None:
    if isinstance(value, bool | int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if key in DATETIME_FIELDS:
        return "datetime"
    if key in DATE_FIELDS:
        return "date"
    return None


def _xml_element(key: str, value: Any, indent: str) -> str:
    if isinstance(value, list):
        item = NESTED_ITEMS.get(key, key.rstrip("s"))
        inner = "".join(_xml_record(item, row, indent + "  ") for row in value)
        return f'{indent}<{key} type="array">\n{inner}{indent}</{key}>\n'
    if isinstance(value, dict):
        return _xml_record(key, value, indent)
    kind = _xml_type(key, value)
    attr = f' type="{kind}"' if kind else ""
    return f"{indent}<{key}{attr}>{escape(_scalar(value))}</{key}>\n"


def _xml_record(name: str, record: Mapping[str, Any], indent: str = "") -> str:
    inner = "".join(_xml_element(k, v, indent + "  ") for k, v in record.items() if not k.startswith("_"))
    return f"{indent}<{name}>\n{inner}{indent}</{name}>\n"


def xml_document(body: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def record_body(name: str, record: Mapping[str, Any], fmt: Format) -> tuple[str, str]:
    """(text, content type) of one record: ``{"client": {...}}`` or ``<client>...</client>``."""
    if fmt == "json":
        return json.dumps({name: _json_record(record)}, ensure_ascii=False), JSON_TYPE
    return xml_document(_xml_record(name, record)), XML_TYPE


def list_body(
    plural: str,
    singular: str,
    records: Iterable[Mapping[str, Any]],
    page: int,
    per_page: int,
    total: int,
    fmt: Format,
) -> tuple[str, str]:
    """The list envelope with string counts; one record as an object, none without the item key."""
    rows = list(records)
    if fmt == "json":
        envelope: dict[str, Any] = {}
        if rows:
            rendered = [_json_record(r) for r in rows]
            envelope[singular] = rendered[0] if len(rendered) == 1 else rendered
        envelope.update({"@page": str(page), "@per_page": str(per_page), "@total": str(total)})
        return json.dumps({plural: envelope}, ensure_ascii=False), JSON_TYPE
    attrs = f'type="array" page="{page}" per_page="{per_page}" total="{total}"'
    inner = "".join(_xml_record(singular, r, "  ") for r in rows)
    return xml_document(f"<{plural} {attrs}>\n{inner}</{plural}>\n"), XML_TYPE


def render(body: tuple[str, str], status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    text, media_type = body
    return Response(text.encode("utf-8"), status_code=status, headers=dict(headers or {}), media_type=media_type)


def error_body(messages: list[str], fmt: Format) -> tuple[str, str]:
    """``{"errors": {"error": "..."}}`` (a list when there are several), or the XML equivalent."""
    if fmt == "json":
        error: Any = messages[0] if len(messages) == 1 else messages
        return json.dumps({"errors": {"error": error}}, ensure_ascii=False), JSON_TYPE
    inner = "".join(f"  <error>{escape(m)}</error>\n" for m in messages)
    return xml_document(f"<errors>\n{inner}</errors>\n"), XML_TYPE


# ------------------------------------------------------------------ parsing


def _strip_xml(value: Any) -> Any:
    """xmltodict's ``{"@type": "integer", "#text": "5"}`` → ``"5"``; attribute-only nodes → ``""``."""
    if isinstance(value, dict):
        if "#text" in value:
            return value["#text"]
        cleaned = {k: _strip_xml(v) for k, v in value.items() if not k.startswith("@")}
        return cleaned if cleaned else ""
    if isinstance(value, list):
        return [_strip_xml(v) for v in value]
    return "" if value is None else value


def parse_body(raw: bytes, content_type: str) -> Any:
    """The request body as plain data, from JSON or XML (sniffed when the content type is vague)."""
    text = raw.decode("utf-8", errors="strict").strip() if raw else ""
    if not text:
        return None
    ctype = content_type.lower()
    is_xml = "xml" in ctype or ("json" not in ctype and text.startswith("<"))
    if is_xml:
        try:
            return _strip_xml(xmltodict.parse(text))
        except Exception as exc:  # expat raises its own ExpatError; all mean "not XML"
            raise InvalidBody(f"Invalid XML: {exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidBody(f"Invalid JSON: {exc.args[0] if exc.args else exc}") from exc
