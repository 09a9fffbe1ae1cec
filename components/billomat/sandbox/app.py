"""Billomat sandbox: ``/api/{resource}[/{id}[/{method}]]`` as Billomat's docs and billomapy describe it.

- Auth: ``X-BillomatApiKey`` header or ``?api_key=``; ``X-AppId``/``X-AppSecret`` are accepted and ignored.
- XML by default; JSON with ``Accept: application/json`` or ``?format=json``; bodies in either.
- Lists: ``page``/``per_page`` (100, max 1000), ``order_by=field+ASC``, per-resource filters; the envelope
  ``{"clients": {"client": [...], "@page": "1", "@per_page": "100", "@total": "2"}}`` with one record
  as an object and none without the item key. JSON scalars are strings, booleans ``1``/``0``.
- Rate limit: ``window_requests`` per account in fixed ``window_seconds`` windows aligned to the epoch
  (the real API: 300 per 15 minutes at :00/:15/:30/:45); ``X-Rate-Limit-Remaining`` and
  ``X-Rate-Limit-Reset`` (epoch seconds) on every ``/api`` response; 429 with the documented body.
- Errors: ``{"errors": {"error": "..."}}`` or ``<errors><error>...</error></errors>``; 400 / 401 / 404 / 405.
  A refused request changes nothing.
- Documents (confirmations, invoices, offers) with items, comments (the history too: CREATE, COMPLETE
  entries), tags, ``complete`` → OPEN, ``pdf`` (``?format=pdf`` gives the bytes), ``email``, ``mail``,
  ``upload-signature`` (confirmations, invoices; an image, completed documents only),
  ``cancel``/``uncancel``, ``clear``/``unclear`` (offers also ``win``/``lose``); edits only in DRAFT.
- Read-only ``templates`` and ``email-templates``; ``clients/{id}/customfield``; ``property{id}`` filters.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.sandbox import Record, SandboxApp, Table, secure_equals

from .data import PRODUCTS, company, make_pdf, person
from .formats import (
    Format,
    InvalidBody,
    error_body,
    list_body,
    negotiate,
    parse_body,
    record_body,
    render,
)

__all__ = ["DEFAULT_CREDENTIALS", "PREFIX", "FixedWindow", "create_app"]

PREFIX = "/api"
DEFAULT_CREDENTIALS = {"billomatId": "sandbox", "apiKey": "sandbox-api-key"}

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
# The account's default tax, used for items that name none (Billomat takes it from the settings).
DEFAULT_TAX_NAME, DEFAULT_TAX_RATE = "MwSt", 19.0
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _timestamp(dt: datetime) -> str:
    # Billomat writes local time with an offset (2007-12-13T12:12:00+01:00); the sandbox uses UTC.
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


class BillomatError(Exception):
    """A refused request: the status and Billomat's error messages."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = list(messages) or ["Error"]


class FixedWindow:
    """Requests per account in fixed windows aligned to the epoch, like Billomat's quarter hours.

    Refused requests are not counted. ``now`` is wall-clock time because the reset header is an
    epoch timestamp clients compare with their own clock.
    """

    def __init__(self, requests: int, seconds: float, *, now: Callable[[], float] = time.time) -> None:
        if requests < 1 or seconds <= 0:
            raise ValueError("window_requests must be >= 1 and window_seconds > 0")
        self.requests = requests
        self.seconds = seconds
        self.enabled = True
        self._now = now
        self._window = -1
        self._count = 0

    def _roll(self) -> tuple[float, float]:
        now = self._now()
        window = int(now // self.seconds)
        if window != self._window:
            self._window, self._count = window, 0
        return now, (window + 1) * self.seconds

    def hit(self) -> tuple[bool, int, float, float]:
        """(allowed, remaining, reset epoch, seconds until reset)."""
        now, reset = self._roll()
        if self.enabled and self._count >= self.requests:
            return False, 0, reset, reset - now
        self._count += 1
        return True, max(self.requests - self._count, 0), reset, reset - now

    def peek(self) -> tuple[int, float]:
        _, reset = self._roll()
        return max(self.requests - self._count, 0), reset

    def describe(self) -> str:
        if self.seconds % 60 == 0:
            minutes = int(self.seconds // 60)
            return f"{self.requests} per {minutes} minute{'s' if minutes != 1 else ''}"
        return f"{self.requests} per {self.seconds:g} seconds"

    def reset(self) -> None:
        self._window, self._count = -1, 0


# ------------------------------------------------------------------ resources


@dataclass
class Resource:
    """One ``/api/{plural}`` collection: its writable fields, record template, checks and filters."""

    plural: str
    singular: str
    template: dict[str, Any]  # a full record with defaults, in Billomat's element order
    fields: dict[str, str]  # writable field -> type (str, int, float, bool, date, email, country, enum:A|B)
    required: tuple[str, ...] = ()
    refs: dict[str, str] = field(default_factory=dict)  # field -> plural of the referenced resource
    text_filters: tuple[str, ...] = ()  # case-insensitive "contains"
    exact_filters: tuple[str, ...] = ()
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    tags: str | None = None  # plural of the tag resource for the ``tags`` filter
    document: DocKind | None = None


@dataclass(eq=False)
class DocKind:
    """A document type's numbering and lifecycle: which statuses each ``PUT /{id}/{method}`` accepts."""

    name: str
    number_pre: str
    transitions: dict[str, tuple[frozenset[str], str]]
    delete_statuses: frozenset[str] | None = None  # None: any status may be deleted
    label: str = ""
    signature: bool = False  # PUT /{id}/upload-signature


DRAFT, OPEN = "DRAFT", "OPEN"

CONFIRMATION = DocKind(
    "confirmation",
    "AB",
    {
        "complete": (frozenset({DRAFT}), OPEN),
        "cancel": (frozenset({OPEN, "CLEARED"}), "CANCELED"),
        "uncancel": (frozenset({"CANCELED"}), OPEN),
        "clear": (frozenset({OPEN}), "CLEARED"),
        "unclear": (frozenset({"CLEARED"}), OPEN),
    },
    label="Confirmation",
    signature=True,
)
INVOICE = DocKind(
    "invoice",
    "RE",
    {
        "complete": (frozenset({DRAFT}), OPEN),
        "cancel": (frozenset({OPEN, "OVERDUE", "PAID"}), "CANCELED"),
        "uncancel": (frozenset({"CANCELED"}), OPEN),
    },
    delete_statuses=frozenset({DRAFT}),
    label="Invoice",
    signature=True,
)
OFFER = DocKind(
    "offer",
    "AN",
    {
        "complete": (frozenset({DRAFT}), OPEN),
        "win": (frozenset({OPEN}), "WON"),
        "lose": (frozenset({OPEN}), "LOST"),
        "cancel": (frozenset({OPEN, "WON", "LOST"}), "CANCELED"),
        "uncancel": (frozenset({"CANCELED"}), OPEN),
        "clear": (frozenset({"WON"}), "CLEARED"),
        "unclear": (frozenset({"CLEARED"}), "WON"),
    },
    label="Offer",
)
DOC_KINDS = (CONFIRMATION, INVOICE, OFFER)

_ADDRESS = {"street": "str", "zip": "str", "city": "str", "state": "str", "country_code": "country"}
_CONTACT_DATA = {
    "first_name": "str",
    "last_name": "str",
    "salutation": "str",
    "phone": "str",
    "fax": "str",
    "mobile": "str",
    "email": "email",
    "www": "str",
}


def _template(fields: dict[str, str], head: dict[str, Any], tail: dict[str, Any] | None = None) -> dict[str, Any]:
    record = dict(head)
    for name, kind in fields.items():
        if name not in record:
            record[name] = None if kind in ("int", "float", "date") else (0 if kind == "bool" else "")
    record.update(tail or {"created": None, "updated": None})
    return record


def _resources() -> dict[str, Resource]:
    client_fields = {
        "archived": "bool",
        "number_pre": "str",
        "number": "int",
        "number_length": "int",
        "name": "str",
        **_ADDRESS,
        **_CONTACT_DATA,
        "tax_number": "str",
        "vat_number": "str",
        "bank_account_number": "str",
        "bank_account_owner": "str",
        "bank_number": "str",
        "bank_name": "str",
        "bank_swift": "str",
        "bank_iban": "str",
        "currency_code": "str",
        "locale": "str",
        "net_gross": "enum:NET|GROSS|SETTINGS",
        "reduction": "str",
        "discount_rate": "float",
        "discount_days": "int",
        "due_days": "int",
        "default_payment_types": "str",
        "debitor_account_number": "int",
        "enable_customerportal": "bool",
        "note": "str",
        "customfield": "str",
    }
    contact_fields = {
        "client_id": "int",
        "label": "str",
        "name": "str",
        **_ADDRESS,
        **_CONTACT_DATA,
        "customfield": "str",
    }
    article_fields = {
        "archived": "bool",
        "number_pre": "str",
        "number": "int",
        "number_length": "int",
        "title": "str",
        "description": "str",
        "sales_price": "float",
        "sales_price2": "float",
        "currency_code": "str",
        "unit_id": "int",
        "tax_id": "int",
        "purchase_price": "float",
        "purchase_price_net_gross": "enum:NET|GROSS",
        "supplier_id": "int",
        "customfield": "str",
    }
    resources = {
        "clients": Resource(
            "clients",
            "client",
            _template(client_fields, {"id": None, "client_number": ""}),
            client_fields,
            text_filters=("name", "client_number", "email", "first_name", "last_name", "note"),
            exact_filters=("country_code", "customfield"),
            tags="client-tags",
        ),
        "contacts": Resource(
            "contacts",
            "contact",
            _template(contact_fields, {"id": None}),
            contact_fields,
            required=("client_id",),
            refs={"client_id": "clients"},
            text_filters=("name", "first_name", "last_name", "email", "label"),
            exact_filters=("client_id", "country_code", "customfield"),
        ),
        "client-properties": Resource(
            "client-properties",
            "client-property",
            {"id": None, "name": "", "type": "TEXTFIELD", "is_nullable": 1, "default_value": ""},
            {
                "name": "str",
                "type": "enum:TEXTFIELD|TEXTAREA|CHECKBOX",
                "is_nullable": "bool",
                "default_value": "str",
            },
            required=("name",),
            text_filters=("name",),
            exact_filters=("type",),
        ),
        "client-property-values": Resource(
            "client-property-values",
            "client-property-value",
            {"id": None, "client_id": None, "client_property_id": None, "type": "", "name": "", "value": ""},
            {"client_id": "int", "client_property_id": "int", "value": "str"},
            required=("client_id", "client_property_id"),
            refs={"client_id": "clients", "client_property_id": "client-properties"},
            exact_filters=("client_id", "client_property_id", "value"),
        ),
        "articles": Resource(
            "articles",
            "article",
            _template(article_fields, {"id": None, "article_number": ""}),
            article_fields,
            required=("title",),
            text_filters=("article_number", "title", "description"),
            exact_filters=("currency_code", "unit_id", "supplier_id", "customfield"),
            tags="article-tags",
        ),
    }
    # Document templates and e-mail templates: read-only here (the account sets them up).
    resources["templates"] = Resource(
        "templates",
        "template",
        {"id": None, "created": None, "name": "", "type": "", "format": "docx", "is_default": 0, "updated": None},
        {},
        text_filters=("name",),
        exact_filters=("type", "format"),
        creatable=False,
        updatable=False,
        deletable=False,
    )
    resources["email-templates"] = Resource(
        "email-templates",
        "email-template",
        {"id": None, "created": None, "name": "", "type": "", "subject": "", "text": "", "bcc": 0, "is_default": 0},
        {},
        text_filters=("name",),
        exact_filters=("type",),
        creatable=False,
        updatable=False,
        deletable=False,
    )
    for owner, ref in (("client", "clients"), ("article", "articles")):
        resources[f"{owner}-tags"] = _tag_resource(owner, ref)
    for kind in DOC_KINDS:
        for resource in _document_resources(kind):
            resources[resource.plural] = resource
    return resources


def _tag_resource(owner: str, ref: str) -> Resource:
    return Resource(
        f"{owner}-tags",
        f"{owner}-tag",
        {"id": None, f"{owner}_id": None, "name": ""},
        {f"{owner}_id": "int", "name": "str"},
        required=(f"{owner}_id", "name"),
        refs={f"{owner}_id": ref},
        text_filters=("name",),
        exact_filters=(f"{owner}_id",),
        updatable=False,
    )


def _document_resources(kind: DocKind) -> list[Resource]:
    name = kind.name
    doc_fields: dict[str, str] = {
        "client_id": "int",
        "contact_id": "int",
        "address": "str",
        "number_pre": "str",
        "number": "int",
        "number_length": "int",
        "date": "date",
        "title": "str",
        "label": "str",
        "intro": "str",
        "note": "str",
        "reduction": "str",
        "currency_code": "str",
        "net_gross": "enum:NET|GROSS",
        "quote": "float",
        "free_text_id": "int",
        "template_id": "int",
        "customfield": "str",
    }
    head: dict[str, Any] = {
        "id": None,
        "client_id": None,
        "contact_id": None,
        "created": None,
        f"{name}_number": "",
        "number": None,
        "number_pre": kind.number_pre,
        "number_length": 0,
        "status": DRAFT,
        "date": None,
    }
    extra: dict[str, str] = {}
    if kind is CONFIRMATION:
        extra = {"offer_id": "int"}
    elif kind is INVOICE:
        extra = {
            "due_date": "date",
            "due_days": "int",
            "discount_rate": "float",
            "discount_days": "int",
            "supply_date": "str",
            "supply_date_type": "enum:SUPPLY_DATE|DELIVERY_DATE|SUPPLY_TEXT|DELIVERY_TEXT",
            "payment_types": "str",
            "offer_id": "int",
            "confirmation_id": "int",
        }
    elif kind is OFFER:
        extra = {"validity_date": "date", "validity_days": "int"}
    doc_fields.update(extra)
    template = dict(head)
    for field_name in ("address", "title", "label", "intro", "note"):
        template[field_name] = ""
    template.update(
        {
            "total_gross": 0.0,
            "total_net": 0.0,
            "net_gross": "NET",
            "reduction": "",
            "total_gross_unreduced": 0.0,
            "total_net_unreduced": 0.0,
            "currency_code": "EUR",
            "quote": 1.0,
            "customerportal_url": "",
            "taxes": [],
        }
    )
    if kind is INVOICE:
        template.update(
            {
                "due_date": None,
                "due_days": 14,
                "discount_rate": 0.0,
                "discount_days": 0,
                "supply_date": "",
                "supply_date_type": "",
                "payment_types": "",
                "paid_amount": 0.0,
                "open_amount": 0.0,
                "offer_id": None,
                "confirmation_id": None,
            }
        )
    elif kind is CONFIRMATION:
        template["offer_id"] = None
    else:
        template.update({"validity_date": None, "validity_days": 14})
    template.update({"free_text_id": None, "template_id": None, "customfield": "", "updated": None})
    filters_exact = ("client_id", "contact_id", "customfield") + (("payment_type",) if kind is INVOICE else ())
    document = Resource(
        f"{name}s",
        name,
        template,
        doc_fields,
        required=("client_id",),
        refs={"client_id": "clients", "contact_id": "contacts"},
        text_filters=(f"{name}_number", "label", "intro", "note"),
        exact_filters=filters_exact,
        tags=f"{name}-tags",
        document=kind,
    )
    item_fields = {
        f"{name}_id": "int",
        "article_id": "int",
        "position": "int",
        "unit": "str",
        "quantity": "float",
        "unit_price": "float",
        "tax_name": "str",
        "tax_rate": "float",
        "title": "str",
        "description": "str",
        "reduction": "str",
    }
    items = Resource(
        f"{name}-items",
        f"{name}-item",
        {
            "id": None,
            f"{name}_id": None,
            "article_id": None,
            "position": 1,
            "unit": "",
            "quantity": 1.0,
            "unit_price": 0.0,
            "tax_name": DEFAULT_TAX_NAME,
            "tax_rate": DEFAULT_TAX_RATE,
            "title": "",
            "description": "",
            "total_gross": 0.0,
            "total_net": 0.0,
            "reduction": "",
            "total_gross_unreduced": 0.0,
            "total_net_unreduced": 0.0,
            "created": None,
            "updated": None,
        },
        item_fields,
        required=(f"{name}_id",),
        refs={f"{name}_id": f"{name}s", "article_id": "articles"},
        exact_filters=(f"{name}_id", "article_id"),
    )
    comments = Resource(
        f"{name}-comments",
        f"{name}-comment",
        {
            "id": None,
            "created": None,
            f"{name}_id": None,
            "user_id": 1,
            "comment": "",
            "actionkey": "COMMENT",
            "public": 0,
        },
        {f"{name}_id": "int", "comment": "str", "actionkey": "str", "public": "bool"},
        required=(f"{name}_id", "comment"),
        refs={f"{name}_id": f"{name}s"},
        text_filters=("comment",),
        exact_filters=(f"{name}_id", "actionkey"),
    )
    return [document, items, comments, _tag_resource(name, f"{name}s")]


# ------------------------------------------------------------------ values


def _coerce(name: str, kind: str, raw: Any) -> Any:
    """One input value (JSON or XML text) as the stored type; BillomatError(400) when it does not fit."""
    if isinstance(raw, dict | list):
        raise BillomatError(400, f"Invalid value for {name}")
    text = "" if raw is None else (("1" if raw else "0") if isinstance(raw, bool) else str(raw).strip())
    if kind in ("str", "email", "country") or kind.startswith("enum:"):
        if kind == "email" and text and not EMAIL_RE.match(text):
            raise BillomatError(400, f"Invalid email address: {text}")
        if kind == "country":
            if text and not re.fullmatch(r"[A-Za-z]{2}", text):
                raise BillomatError(400, f"Invalid country code: {text}")
            return text.upper()
        if kind.startswith("enum:") and text:
            allowed = kind[5:].split("|")
            if text.upper() not in allowed:
                raise BillomatError(400, f"Invalid value for {name}: {text} (allowed: {', '.join(allowed)})")
            return text.upper()
        return text if raw is not None else ""
    if text == "":
        return 0 if kind == "bool" else None
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() in ("1", "true"):
                return 1
            if text.lower() in ("0", "false"):
                return 0
            raise ValueError(text)
        if kind == "date":
            date.fromisoformat(text)
            return text
    except ValueError:
        raise BillomatError(400, f"Invalid value for {name}: {text}") from None
    raise BillomatError(400, f"Invalid value for {name}")


def _as_list(value: Any) -> list[Any]:
    """Billomat's nested lists arrive as a list, one object, or an empty element."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    return [value]


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def _reduce(amount: float, reduction: str) -> float:
    """Apply Billomat's reduction: ``10`` (absolute) or ``10%``."""
    text = (reduction or "").strip().replace(",", ".")
    if not text:
        return amount
    try:
        if text.endswith("%"):
            return amount * (1 - float(text[:-1]) / 100)
        return amount - float(text)
    except ValueError:
        raise BillomatError(400, f"Invalid reduction: {reduction}") from None


def _check_reduction(value: str) -> None:
    _reduce(100.0, value)


# ------------------------------------------------------------------ the sandbox


class Billomat:
    """State and handlers; ``create_app`` wires an instance into a SandboxApp."""

    def __init__(self, app: SandboxApp, api_key: str, window: FixedWindow) -> None:
        self.app = app
        self.api_key = api_key
        self.window = window
        self.resources = _resources()
        self.myself: Record = {}

    # ---------------------------------------------------------- tables

    def table(self, plural: str) -> Table:
        return self.app.store.table(plural, created_field="created", modified_field="updated", timestamp=_timestamp)

    def now(self) -> datetime:
        return self.app.clock.now()

    # ---------------------------------------------------------- dispatch

    async def handle(self, request: Request) -> Response:
        fmt = negotiate(request)
        given = request.headers.get("x-billomatapikey") or request.query_params.get("api_key")
        if not secure_equals(given, self.api_key):
            remaining, reset = self.window.peek()
            return self._error(BillomatError(401, "Unauthorized"), fmt, remaining, reset)
        allowed, remaining, reset, wait = self.window.hit()
        if not allowed:
            return self._rate_limited(wait, reset, fmt)
        try:
            response = await self._route(request, fmt)
        except BillomatError as exc:
            return self._error(exc, fmt, remaining, reset)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        response.headers["X-Rate-Limit-Reset"] = str(math.ceil(reset))
        return response

    def _error(self, exc: BillomatError, fmt: Format, remaining: int, reset: float) -> Response:
        headers = {"X-Rate-Limit-Remaining": str(remaining), "X-Rate-Limit-Reset": str(math.ceil(reset))}
        return render(error_body(exc.messages, "json" if fmt == "json" else "xml"), exc.status, headers)

    def _rate_limited(self, wait: float, reset: float, fmt: Format) -> Response:
        message = (
            f"Maximum number of requests ({self.window.describe()}) reached. "
            f"Try again in {max(1, math.ceil(wait))} seconds."
        )
        headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(math.ceil(reset))}
        return render(error_body([message], "json" if fmt == "json" else "xml"), 429, headers)

    async def _route(self, request: Request, fmt: Format) -> Response:
        path = request.path_params.get("path", "")
        parts = [p for p in path.split("/") if p]
        method = request.method
        if not parts:
            raise BillomatError(404, "Resource not found")
        resource = self.resources.get(parts[0])
        if resource is None:
            raise BillomatError(404, f"Unknown resource: {parts[0]}")
        if len(parts) == 1:
            if method == "GET":
                return self.list_records(resource, request, fmt)
            if method == "POST" and resource.creatable:
                return await self.create(resource, request, fmt)
            raise BillomatError(405, "Method not allowed")
        if parts[0] == "clients" and parts[1] == "myself" and len(parts) == 2 and method == "GET":
            return render(record_body("client", self.myself, fmt))
        record = self._find(resource, parts[1])
        if len(parts) == 2:
            if method == "GET":
                return render(record_body(resource.singular, record, fmt))
            if method == "PUT" and resource.updatable:
                return await self.update(resource, record, request, fmt)
            if method == "DELETE" and resource.deletable:
                return self.delete(resource, record)
            raise BillomatError(405, "Method not allowed")
        if len(parts) == 3:
            command = parts[2]
            if command == "customfield":
                return await self.customfield(resource, record, request, fmt)
            if resource.document is not None:
                return await self.document_command(resource, record, command, request, fmt)
        raise BillomatError(404, "Resource not found")

    def _find(self, resource: Resource, raw_id: str) -> Record:
        record = self.table(resource.plural).get(raw_id) if raw_id.isdigit() else None
        if record is None:
            raise BillomatError(404, f"{resource.singular.replace('-', ' ').capitalize()} not found")
        return record

    # ---------------------------------------------------------- bodies

    async def _body(self, request: Request, root: str | None, *, required: bool = True) -> dict[str, Any]:
        try:
            data = parse_body(await request.body(), request.headers.get("content-type", ""))
        except (InvalidBody, UnicodeDecodeError) as exc:
            raise BillomatError(400, str(exc)) from None
        if data is None:
            if required:
                raise BillomatError(400, "Missing request body")
            return {}
        if root is None:
            return data if isinstance(data, dict) else {}
        if not isinstance(data, dict) or not isinstance(data.get(root), dict | str | type(None)):
            raise BillomatError(400, f"Invalid request body: expected the element <{root}>")
        if root not in data:
            if required:
                raise BillomatError(400, f"Invalid request body: expected the element <{root}>")
            return {}
        inner = data[root]
        return inner if isinstance(inner, dict) else {}

    def _values(self, resource: Resource, data: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in data.items():
            kind = resource.fields.get(name)
            if kind is not None:
                values[name] = _coerce(name, kind, raw)
        if "reduction" in values:
            _check_reduction(values["reduction"])
        for name, ref in resource.refs.items():
            if values.get(name) is not None and self.table(ref).get(values[name]) is None:
                raise BillomatError(
                    400,
                    f"{self.resources[ref].singular.replace('-', ' ').capitalize()} with id {values[name]} not found",
                )
        return values

    # ---------------------------------------------------------- list

    def list_records(self, resource: Resource, request: Request, fmt: Format) -> Response:
        params = request.query_params
        try:
            page = int(params.get("page") or 1)
            per_page = int(params.get("per_page") or DEFAULT_PER_PAGE)
        except ValueError:
            raise BillomatError(400, "Invalid value for page or per_page") from None
        page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
        predicates = self._filters(resource, request)
        rows = self.table(resource.plural).list(lambda r: all(p(r) for p in predicates))
        rows = self._order(resource, rows, params.get("order_by", ""))
        start = (page - 1) * per_page
        chunk = rows[start : start + per_page]
        return render(list_body(resource.plural, resource.singular, chunk, page, per_page, len(rows), fmt))

    def _filters(self, resource: Resource, request: Request) -> list[Callable[[Record], bool]]:
        params = request.query_params
        predicates: list[Callable[[Record], bool]] = []
        for name in resource.text_filters:
            if params.get(name):
                needle = params[name].lower()
                predicates.append(_contains(name, needle))
        for name in resource.exact_filters:
            if params.get(name):
                wanted = params[name].strip().lower()
                predicates.append(_equals(name, wanted))
        if resource.tags and params.get("tags"):
            predicates.append(self._tag_filter(resource, params["tags"]))
        if resource.plural == "clients":
            predicates += self._client_filters(request)
        if resource.document is not None:
            predicates += self._document_filters(resource, request)
        return predicates

    def _tag_filter(self, resource: Resource, tags: str) -> Callable[[Record], bool]:
        wanted = {t.strip().lower() for t in tags.split(",") if t.strip()}
        owner = resource.singular
        tagged: dict[Any, set[str]] = {}
        for tag in self.table(f"{owner}-tags"):
            tagged.setdefault(tag[f"{owner}_id"], set()).add(str(tag["name"]).lower())
        # Every listed tag must be present (a filter narrows the list).
        return lambda r: wanted <= tagged.get(r["id"], set())

    def _client_filters(self, request: Request) -> list[Callable[[Record], bool]]:
        predicates: list[Callable[[Record], bool]] = []
        params = request.query_params
        if params.get("invoice_id"):
            invoice = self.table("invoices").get(params["invoice_id"]) if params["invoice_id"].isdigit() else None
            owner = invoice["client_id"] if invoice else None
            predicates.append(lambda r: r["id"] == owner)
        for key, value in params.multi_items():
            match = re.fullmatch(r"property(\d+)", key)
            if match:
                prop_id, wanted = int(match.group(1)), value.strip().lower()
                owners = {
                    v["client_id"]
                    for v in self.table("client-property-values")
                    if v["client_property_id"] == prop_id and str(v["value"]).lower() == wanted
                }
                predicates.append(_id_in(owners))
        return predicates

    def _document_filters(self, resource: Resource, request: Request) -> list[Callable[[Record], bool]]:
        params = request.query_params
        predicates: list[Callable[[Record], bool]] = []
        if params.get("status"):
            statuses = {s.strip().upper() for s in params["status"].split(",") if s.strip()}
            predicates.append(lambda r: r["status"] in statuses)
        for key in ("from", "to"):
            if params.get(key):
                try:
                    bound = date.fromisoformat(params[key]).isoformat()
                except ValueError:
                    raise BillomatError(400, f"Invalid date for {key}: {params[key]} (YYYY-MM-DD)") from None
                predicates.append(_date_bound(bound, upper=key == "to"))
        if params.get("article_id"):
            name = resource.singular
            wanted = params["article_id"].strip()
            docs = {i[f"{name}_id"] for i in self.table(f"{name}-items") if str(i.get("article_id")) == wanted}
            predicates.append(lambda r: r["id"] in docs)
        return predicates

    def _order(self, resource: Resource, rows: list[Record], order_by: str) -> list[Record]:
        if not order_by.strip():
            return rows
        keys: list[tuple[str, bool]] = []
        for part in order_by.split(","):
            words = [w for w in re.split(r"[\s+]+", part.strip()) if w]
            if not words:
                continue
            name, direction = words[0], (words[1].upper() if len(words) > 1 else "ASC")
            if name not in resource.template or direction not in ("ASC", "DESC"):
                raise BillomatError(400, f"Invalid order_by: {part.strip()}")
            keys.append((name, direction == "DESC"))
        for name, descending in reversed(keys):
            present = [r for r in rows if r.get(name) not in (None, "")]
            missing = [r for r in rows if r.get(name) in (None, "")]
            present.sort(key=_sort_key(name), reverse=descending)
            rows = present + missing
        return rows

    # ---------------------------------------------------------- create / update / delete

    async def create(self, resource: Resource, request: Request, fmt: Format) -> Response:
        data = await self._body(request, resource.singular)
        if resource.document is not None:
            record = self._create_document(resource, data)
        else:
            record = self.insert(resource, self._checked(resource, data, creating=True))
        return render(record_body(resource.singular, record, fmt), 201)

    def _checked(
        self, resource: Resource, data: dict[str, Any], *, creating: bool, existing: Record | None = None
    ) -> dict[str, Any]:
        values = self._values(resource, data)
        merged = {**(existing or {}), **values}
        for name in resource.required:
            if merged.get(name) in (None, ""):
                raise BillomatError(400, f"Missing required field: {name}")
        if resource.plural == "clients" and not any(merged.get(k) for k in ("name", "first_name", "last_name")):
            raise BillomatError(400, "A client needs a name or a first or last name")
        if resource.document is None and resource.plural.endswith("-items"):
            doc_kind = resource.plural[: -len("-items")]
            self._require_draft(self.table(f"{doc_kind}s").get(merged[f"{doc_kind}_id"]), doc_kind)
        return values

    def _require_draft(self, document: Record | None, kind: str) -> None:
        if document is not None and document["status"] != DRAFT:
            label = kind.capitalize()
            raise BillomatError(400, f"{label} is not a draft (status {document['status']}) and cannot be edited")

    def insert(self, resource: Resource, values: dict[str, Any], **extra: Any) -> Record:
        record: Record = {k: (list(v) if isinstance(v, list) else v) for k, v in resource.template.items()}
        record.update(values)
        record.update(extra)
        table = self.table(resource.plural)
        if resource.plural in ("clients", "articles"):
            prefix = "KD" if resource.plural == "clients" else "ART"
            if not record.get("number_pre"):
                record["number_pre"] = prefix
            if record.get("number") is None:
                record["number"] = self._next_number(table)
            record["number_length"] = record.get("number_length") or 0
            number_field = "client_number" if resource.plural == "clients" else "article_number"
            record[number_field] = _number(record)
        if resource.plural == "client-property-values":
            prop = self.table("client-properties").get(record["client_property_id"])
            record["type"], record["name"] = (prop or {}).get("type", ""), (prop or {}).get("name", "")
        table.insert(record)
        if resource.plural.endswith("-items") and resource.document is None:
            self._recalculate(resource.plural[: -len("-items")], record[resource.required[0]], touch=True)
        return record

    async def update(self, resource: Resource, record: Record, request: Request, fmt: Format) -> Response:
        data = await self._body(request, resource.singular)
        if resource.document is not None:
            self._require_draft(record, resource.singular)
        values = self._checked(resource, data, creating=False, existing=record)
        if resource.plural.endswith("-items") and resource.document is None:
            values.pop(resource.required[0], None)  # items stay with their document
        if resource.document is not None:
            self._check_document_refs(values, record)
        table = self.table(resource.plural)
        table.update(record["id"], values)
        if resource.plural in ("clients", "articles"):
            record["client_number" if resource.plural == "clients" else "article_number"] = _number(record)
        if resource.plural.endswith("-items") and resource.document is None:
            self._recalculate(resource.plural[: -len("-items")], record[resource.required[0]], touch=True)
        if resource.document is not None:
            self._recalculate(resource.singular, record["id"])
        return render(record_body(resource.singular, record, fmt))

    def delete(self, resource: Resource, record: Record) -> Response:
        kind = resource.document
        if kind is not None and kind.delete_statuses is not None and record["status"] not in kind.delete_statuses:
            raise BillomatError(400, f"{kind.label} has status {record['status']} and cannot be deleted")
        if resource.plural == "clients":
            for doc in DOC_KINDS:
                if self.table(f"{doc.name}s").first(client_id=record["id"]) is not None:
                    raise BillomatError(400, "Client has documents and cannot be deleted")
        if resource.plural.endswith("-items") and resource.document is None:
            doc_kind = resource.plural[: -len("-items")]
            self._require_draft(self.table(f"{doc_kind}s").get(record[f"{doc_kind}_id"]), doc_kind)
        self.table(resource.plural).delete(record["id"])
        if resource.plural == "clients":
            for dependent in ("contacts", "client-tags", "client-property-values"):
                table = self.table(dependent)
                for row in table.list(client_id=record["id"]):
                    table.delete(row["id"])
        if kind is not None:
            for dependent in (f"{kind.name}-items", f"{kind.name}-comments", f"{kind.name}-tags"):
                table = self.table(dependent)
                for row in table.list(**{f"{kind.name}_id": record["id"]}):
                    table.delete(row["id"])
        if resource.plural.endswith("-items") and resource.document is None:
            doc_kind = resource.plural[: -len("-items")]
            self._recalculate(doc_kind, record[f"{doc_kind}_id"], touch=True)
        return Response(b"", 200)

    async def customfield(self, resource: Resource, record: Record, request: Request, fmt: Format) -> Response:
        if request.method == "PUT":
            data = await self._body(request, resource.singular)
            value = _coerce("customfield", "str", data.get("customfield", ""))
            self.table(resource.plural).update(record["id"], customfield=value)
        elif request.method != "GET":
            raise BillomatError(405, "Method not allowed")
        return render(record_body(resource.singular, {"customfield": record.get("customfield", "")}, fmt))

    # ---------------------------------------------------------- documents

    def _check_document_refs(self, values: dict[str, Any], record: Record | None) -> None:
        client_id = values.get("client_id", (record or {}).get("client_id"))
        contact_id = values.get("contact_id", (record or {}).get("contact_id"))
        if contact_id is not None:
            contact = self.table("contacts").get(contact_id)
            if contact is None or contact["client_id"] != client_id:
                raise BillomatError(400, f"Contact with id {contact_id} does not belong to client {client_id}")

    def _create_document(self, resource: Resource, data: dict[str, Any]) -> Record:
        kind = resource.document
        assert kind is not None
        values = self._checked(resource, data, creating=True)
        self._check_document_refs(values, None)
        item_resource = self.resources[f"{kind.name}-items"]
        raw_items = data.get(f"{kind.name}-items")
        if isinstance(raw_items, dict):
            raw_items = raw_items.get(f"{kind.name}-item", raw_items if raw_items else None)
        items = []
        for raw in _as_list(raw_items):
            if not isinstance(raw, dict):
                raise BillomatError(400, f"Invalid {kind.name}-item")
            items.append(self._values(item_resource, {k: v for k, v in raw.items() if k != f"{kind.name}_id"}))
        # Everything is valid: only now touch the store.
        return self.insert_document(kind, values, items)

    def insert_document(
        self, kind: DocKind, values: dict[str, Any], items: list[dict[str, Any]], **extra: Any
    ) -> Record:
        resource = self.resources[f"{kind.name}s"]
        table = self.table(resource.plural)
        client = self.table("clients").get(values["client_id"]) or {}
        record: Record = {k: (list(v) if isinstance(v, list) else v) for k, v in resource.template.items()}
        record.update({k: v for k, v in values.items() if v is not None})
        record.update(extra)
        if record.get("number") is None:
            record["number"] = self._next_number(table)
        record["number_pre"] = record.get("number_pre") or kind.number_pre
        record["number_length"] = record.get("number_length") or 0
        record[f"{kind.name}_number"] = _number(record)
        record["date"] = record.get("date") or self.now().date().isoformat()
        if not record.get("address"):
            record["address"] = _address(client)
        if kind is INVOICE:
            days = int(record.get("due_days") or 0) if record.get("due_days") is not None else 14
            record["due_date"] = (
                record.get("due_date") or (date.fromisoformat(record["date"]) + timedelta(days=days)).isoformat()
            )
        if kind is OFFER:
            days = int(record.get("validity_days") or 0) if record.get("validity_days") is not None else 14
            record["validity_date"] = (
                record.get("validity_date") or (date.fromisoformat(record["date"]) + timedelta(days=days)).isoformat()
            )
        table.insert(record)
        digest = hashlib.sha1(f"{kind.name}{record['id']}".encode()).hexdigest()[:15]
        record["customerportal_url"] = (
            f"https://sandbox.billomat.net/customerportal/{kind.name}s/show/entityId/{record['id']}?hash={digest}"
        )
        item_table = self.table(f"{kind.name}-items")
        item_template = self.resources[f"{kind.name}-items"].template
        for position, item in enumerate(items, start=1):
            row = dict(item_template)
            row.update({k: v for k, v in item.items() if v is not None})
            row[f"{kind.name}_id"] = record["id"]
            row["position"] = item.get("position") or position
            row["created"] = row["updated"] = None
            item_table.insert(row)
        self._recalculate(kind.name, record["id"])
        self._log_action(kind, record, "CREATE", f"{kind.label} erstellt", extra.get("created"))
        return record

    def _log_action(self, kind: DocKind, record: Record, actionkey: str, text: str, when: Any = None) -> None:
        """Billomat keeps a document's history as comments with an ``actionkey`` (CREATE, COMPLETE, ...)."""
        row = dict(self.resources[f"{kind.name}-comments"].template)
        row.update({f"{kind.name}_id": record["id"], "comment": text, "actionkey": actionkey, "created": when})
        self.table(f"{kind.name}-comments").insert(row)

    def _recalculate(self, kind_name: str, doc_id: Any, *, touch: bool = False) -> None:
        """Item and document totals and the tax summary, from the items (NET or GROSS prices).

        ``touch``: an item changed through the API, so the document counts as updated too.
        """
        document = self.table(f"{kind_name}s").get(doc_id)
        if document is None:
            return
        if touch:
            self.table(f"{kind_name}s").touch(document)
        gross_prices = document.get("net_gross") == "GROSS"
        net_total = 0.0
        taxes: dict[tuple[str, float], float] = {}
        for item in self.table(f"{kind_name}-items").list(**{f"{kind_name}_id": doc_id}):
            quantity, price = float(item.get("quantity") or 0), float(item.get("unit_price") or 0)
            rate = float(item.get("tax_rate") or 0)
            unreduced = quantity * price
            reduced = _reduce(unreduced, str(item.get("reduction") or ""))
            if gross_prices:
                net_unreduced, net = unreduced / (1 + rate / 100), reduced / (1 + rate / 100)
            else:
                net_unreduced, net = unreduced, reduced
            item.update(
                {
                    "total_net_unreduced": _money(net_unreduced),
                    "total_gross_unreduced": _money(net_unreduced * (1 + rate / 100)),
                    "total_net": _money(net),
                    "total_gross": _money(net * (1 + rate / 100)),
                }
            )
            net_total += net
            if rate:
                key = (str(item.get("tax_name") or "MwSt"), rate)
                taxes[key] = taxes.get(key, 0.0) + net * rate / 100
        reduced_total = _reduce(net_total, str(document.get("reduction") or ""))
        factor = reduced_total / net_total if net_total else 1.0
        tax_rows: list[dict[str, Any]] = [
            {"name": n, "rate": r, "amount": _money(a * factor)} for (n, r), a in sorted(taxes.items())
        ]
        tax_sum = sum(float(t["amount"]) for t in tax_rows)
        document.update(
            {
                "total_net_unreduced": _money(net_total),
                "total_gross_unreduced": _money(net_total + sum(taxes.values())),
                "total_net": _money(reduced_total),
                "total_gross": _money(reduced_total + tax_sum),
                "taxes": tax_rows,
            }
        )
        if "open_amount" in document:
            document["open_amount"] = _money(document["total_gross"] - float(document.get("paid_amount") or 0))

    async def document_command(
        self, resource: Resource, record: Record, command: str, request: Request, fmt: Format
    ) -> Response:
        kind = resource.document
        assert kind is not None
        method = request.method
        if command == "pdf":
            if method != "GET":
                raise BillomatError(405, "Method not allowed")
            return self._pdf(kind, record, request, fmt)
        if command in ("email", "mail"):
            if method != "POST":
                raise BillomatError(405, "Method not allowed")
            return await self._send(kind, record, command, request)
        if command == "upload-signature" and kind.signature:
            if method != "PUT":
                raise BillomatError(405, "Method not allowed")
            return await self._signature(kind, record, request)
        if command not in kind.transitions:
            raise BillomatError(404, "Resource not found")
        if method != "PUT":
            raise BillomatError(405, "Method not allowed")
        allowed, target = kind.transitions[command]
        body = await self._body(request, "complete" if command == "complete" else None, required=False)
        if record["status"] not in allowed:
            raise BillomatError(
                400,
                f"{kind.label} has status {record['status']}; {command} needs {' or '.join(sorted(allowed))}",
            )
        changes: dict[str, Any] = {"status": target}
        if command == "complete":
            template_id = _coerce("template_id", "int", body.get("template_id"))
            if template_id is not None:
                changes["template_id"] = template_id
            changes.update(self._pdf_fields(kind, record))
            self._log_action(kind, record, "COMPLETE", f"{kind.label} abgeschlossen")
        elif command == "cancel":
            changes["_status_before_cancel"] = record["status"]
        elif command == "uncancel":
            changes["status"] = record.get("_status_before_cancel") or target
        self.table(resource.plural).update(record["id"], changes)
        return Response(b"", 200)

    def _pdf_fields(self, kind: DocKind, record: Record) -> dict[str, Any]:
        lines = [
            f"{kind.label} {record[f'{kind.name}_number']} vom {record['date']}",
            *str(record.get("address") or "").splitlines(),
            f"Netto: {record['total_net']:.2f} {record['currency_code']}",
            f"Brutto: {record['total_gross']:.2f} {record['currency_code']}",
        ]
        pdf_table = self.app.store.table("pdfs", created_field="created", timestamp=_timestamp)
        row = pdf_table.insert({"id": None, "created": None})
        return {
            "_pdf": make_pdf(f"{kind.label} {record[f'{kind.name}_number']}", lines),
            "_pdf_id": row["id"],
            "_pdf_created": row["created"],
        }

    def _pdf(self, kind: DocKind, record: Record, request: Request, fmt: Format) -> Response:
        pdf = record.get("_pdf")
        if not isinstance(pdf, bytes):
            raise BillomatError(404, f"No PDF: the {kind.name} is a draft (complete it first)")
        filename = f"{kind.name}_{record['id']}.pdf"
        if fmt == "pdf":
            return Response(
                pdf,
                200,
                media_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="{filename}"'},
            )
        info = {
            "id": record["_pdf_id"],
            "created": record["_pdf_created"],
            f"{kind.name}_id": record["id"],
            "filename": filename,
            "mimetype": "application/pdf",
            "filesize": len(pdf),
            "base64file": base64.b64encode(pdf).decode("ascii"),
        }
        return render(record_body("pdf", info, fmt))

    async def _signature(self, kind: DocKind, record: Record, request: Request) -> Response:
        """``PUT /{documents}/{id}/upload-signature`` with ``<signature><base64file>``: an image of the
        customer's signature, kept with the document (only completed documents are signed)."""
        data = await self._body(request, "signature")
        raw = str(data.get("base64file") or "").strip()
        if not raw:
            raise BillomatError(400, "Missing required field: base64file")
        try:
            image = base64.b64decode(raw, validate=True)
        except ValueError:
            raise BillomatError(400, "base64file is not valid base64") from None
        if not image.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
            raise BillomatError(400, "base64file must be a PNG, JPEG or GIF image")
        if record["status"] == DRAFT:
            raise BillomatError(400, f"{kind.label} is a draft; complete it before it is signed")
        self.table(f"{kind.name}s").update(record["id"], {"_signature": image})
        return Response(b"", 200)

    async def _send(self, kind: DocKind, record: Record, command: str, request: Request) -> Response:
        data = await self._body(request, command, required=command == "email")
        if record["status"] == DRAFT:
            raise BillomatError(400, f"{kind.label} is a draft; complete it before sending")
        outbox = self.app.store.table("outbox", created_field="created", timestamp=_timestamp)
        if command == "email":
            recipients = data.get("recipients")
            addresses: dict[str, list[str]] = {}
            if isinstance(recipients, dict):
                for role in ("to", "cc", "bcc"):
                    values = [str(a).strip() for a in _as_list(recipients.get(role)) if str(a).strip()]
                    if values:
                        addresses[role] = values
            if not addresses:
                raise BillomatError(400, "recipients must contain at least one of to, cc or bcc")
            for address in (a for group in addresses.values() for a in group):
                if not EMAIL_RE.match(address):
                    raise BillomatError(400, f"Invalid email address: {address}")
            sender = str(data.get("from") or "")
            if sender and not EMAIL_RE.match(sender):
                raise BillomatError(400, f"Invalid email address: {sender}")
            outbox.insert(
                {
                    "id": None,
                    "channel": "email",
                    "document": f"{kind.name}s/{record['id']}",
                    "recipients": addresses,
                    "subject": str(data.get("subject") or ""),
                    "created": None,
                }
            )
        else:
            for flag in ("color", "duplex"):
                _coerce(flag, "bool", data.get(flag))
            weight = _coerce("paper_weight", "int", data.get("paper_weight"))
            if weight not in (None, 80, 90):
                raise BillomatError(400, "paper_weight must be 80 or 90")
            outbox.insert(
                {"id": None, "channel": "letter", "document": f"{kind.name}s/{record['id']}", "created": None}
            )
        return Response(b"", 200)

    # ---------------------------------------------------------- numbering and seeding

    @staticmethod
    def _next_number(table: Table) -> int:
        return max((int(r.get("number") or 0) for r in table), default=0) + 1

    def populate(self) -> None:
        rng = self.app.rng
        now = self.now()
        self.myself = {
            "id": 1,
            "name": "Sandbox GmbH",
            "street": "Hollertszug 26",
            "zip": "57562",
            "city": "Herdorf",
            "country_code": "DE",
            "email": "info@sandbox.example",
            "currency_code": "EUR",
            "locale": "de_DE",
            "created": _timestamp(now - timedelta(days=400)),
        }
        properties = self.table("client-properties")
        for name, prop_type in (
            ("Externe ID", "TEXTFIELD"),
            ("Branche", "TEXTFIELD"),
            ("Newsletter", "CHECKBOX"),
        ):
            properties.insert(
                {
                    "id": None,
                    "name": name,
                    "type": prop_type,
                    "is_nullable": 1,
                    "default_value": "",
                    "created": None,
                    "updated": None,
                }
            )
        created = _timestamp(now - timedelta(days=380))
        for name, kind, default in (
            ("Rechnung Standard", "INVOICE", 1),
            ("Rechnung ohne Briefkopf", "INVOICE", 0),
            ("Angebot Standard", "OFFER", 1),
            ("Auftragsbestätigung Standard", "CONFIRMATION", 1),
        ):
            self.table("templates").insert(
                {"id": None, "created": created, "name": name, "type": kind, "format": "docx", "is_default": default}
            )
        for name, kind, subject in (
            ("Rechnung versenden", "INVOICE", "Ihre Rechnung [Invoice.invoice_number]"),
            ("Angebot versenden", "OFFER", "Ihr Angebot [Offer.offer_number]"),
            (
                "Auftragsbestätigung versenden",
                "CONFIRMATION",
                "Ihre Auftragsbestätigung [Confirmation.confirmation_number]",
            ),
        ):
            self.table("email-templates").insert(
                {
                    "id": None,
                    "created": created,
                    "name": name,
                    "type": kind,
                    "subject": subject,
                    "text": "Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie das Dokument.",
                    "bcc": 0,
                    "is_default": 1,
                }
            )
        articles = [self.seed_article(rng, now - timedelta(days=300 - i)) for i in range(len(PRODUCTS))]
        clients = [self.seed_client(rng, now - timedelta(days=200, hours=-6 * i)) for i in range(24)]
        for i, client in enumerate(clients):
            when = now - timedelta(days=150, hours=-5 * i)
            for _ in range(rng.choice([0, 1, 1, 2])):
                self.seed_contact(rng, client, when)
            if i % 3 == 0:
                self.table("client-property-values").insert(
                    {
                        "id": None,
                        "client_id": client["id"],
                        "client_property_id": 1,
                        "type": "TEXTFIELD",
                        "name": "Externe ID",
                        "value": f"ext-{1000 + i}",
                        "created": None,
                        "updated": None,
                    }
                )
            for tag in rng.sample(["vip", "newsletter", "reseller", "b2b"], k=rng.choice([0, 1, 2])):
                self.table("client-tags").insert({"id": None, "client_id": client["id"], "name": tag})
        statuses = {
            CONFIRMATION: ["DRAFT", "OPEN", "OPEN", "CLEARED", "CANCELED"],
            INVOICE: ["DRAFT", "OPEN", "PAID", "PAID", "OVERDUE", "CANCELED"],
            OFFER: ["DRAFT", "OPEN", "WON", "LOST", "CLEARED"],
        }
        counts = {CONFIRMATION: 12, INVOICE: 18, OFFER: 8}
        for kind in DOC_KINDS:
            for i in range(counts[kind]):
                when = now - timedelta(days=90 - 4 * i, hours=rng.randint(0, 8))
                status = statuses[kind][i % len(statuses[kind])]
                self.seed_document(kind, rng, rng.choice(clients), articles, when, status)

    def seed_client(self, rng: random.Random, when: datetime) -> Record:
        first, last = person(rng)
        values = {
            **company(rng),
            "first_name": first,
            "last_name": last,
            "salutation": rng.choice(["Herr", "Frau"]),
            "email": f"{first}.{last}@example.com".lower().replace("ü", "ue"),
            "phone": f"+49 {rng.randint(30, 89)} {rng.randint(100000, 999999)}",
            "currency_code": "EUR",
            "locale": "de_DE",
            "net_gross": "SETTINGS",
            "due_days": 14,
            "note": rng.choice(["", "", "Stammkunde", "Zahlt per SEPA"]),
        }
        return self.insert(self.resources["clients"], values, created=_timestamp(when), updated=_timestamp(when))

    def seed_contact(self, rng: random.Random, client: Record, when: datetime) -> Record:
        first, last = person(rng)
        values = {
            "client_id": client["id"],
            "first_name": first,
            "last_name": last,
            "street": client["street"],
            "zip": client["zip"],
            "city": client["city"],
            "country_code": client["country_code"],
            "email": f"{first}.{last}@example.org".lower().replace("ü", "ue"),
            "label": rng.choice(["Buchhaltung", "Einkauf", "Geschäftsführung"]),
        }
        return self.insert(self.resources["contacts"], values, created=_timestamp(when), updated=_timestamp(when))

    def seed_article(self, rng: random.Random, when: datetime) -> Record:
        count = len(self.table("articles"))
        title, unit, price = PRODUCTS[count % len(PRODUCTS)]
        values = {
            "title": title if count < len(PRODUCTS) else f"{title} {count // len(PRODUCTS) + 1}",
            "description": f"{title} ({unit})",
            "sales_price": price,
            "currency_code": "EUR",
            "unit_id": 1 + count % 4,
            "tax_id": 1,
            "purchase_price": round(price * 0.6, 2),
        }
        return self.insert(self.resources["articles"], values, created=_timestamp(when), updated=_timestamp(when))

    def seed_document(
        self,
        kind: DocKind,
        rng: random.Random,
        client: Record,
        articles: list[Record],
        when: datetime,
        status: str,
    ) -> Record:
        items = []
        for article in rng.sample(articles, k=rng.randint(1, 3)):
            items.append(
                {
                    "article_id": article["id"],
                    "title": article["title"],
                    "unit": "Stück",
                    "quantity": float(rng.randint(1, 10)),
                    "unit_price": article["sales_price"],
                    "tax_name": "MwSt",
                    "tax_rate": 19.0,
                }
            )
        values = {
            "client_id": client["id"],
            "date": when.date().isoformat(),
            "label": f"Projekt {rng.randint(100, 999)}",
            "intro": "Vielen Dank für Ihr Vertrauen.",
            "note": rng.choice(["", "Zahlbar innerhalb von 14 Tagen."]),
        }
        stamp = _timestamp(when)
        record = self.insert_document(kind, values, items, created=stamp, updated=stamp)
        for item in self.table(f"{kind.name}-items").list(**{f"{kind.name}_id": record["id"]}):
            item["created"] = item["updated"] = stamp
        if status != DRAFT:
            record.update(self._pdf_fields(kind, record))
            record["status"] = status
            if status == "PAID":
                record["paid_amount"], record["open_amount"] = record["total_gross"], 0.0
        return record


def _number(record: Record) -> str:
    number = record.get("number")
    if number is None:
        return ""
    return f"{record.get('number_pre') or ''}{str(number).zfill(int(record.get('number_length') or 0))}"


def _address(client: Record) -> str:
    lines = [
        client.get("name") or f"{client.get('first_name', '')} {client.get('last_name', '')}".strip(),
        client.get("street", ""),
        f"{client.get('zip', '')} {client.get('city', '')}".strip(),
        {"DE": "Deutschland", "AT": "Österreich", "CH": "Schweiz", "IT": "Italien"}.get(
            client.get("country_code", ""), client.get("country_code", "")
        ),
    ]
    return "\n".join(line for line in lines if line)


def _contains(name: str, needle: str) -> Callable[[Record], bool]:
    return lambda r: needle in str(r.get(name) or "").lower()


def _equals(name: str, wanted: str) -> Callable[[Record], bool]:
    return lambda r: ("" if r.get(name) is None else str(r[name])).lower() == wanted


def _id_in(ids: set[Any]) -> Callable[[Record], bool]:
    return lambda r: r["id"] in ids


def _date_bound(bound: str, *, upper: bool) -> Callable[[Record], bool]:
    # ISO dates compare correctly as strings.
    return lambda r: bool(r.get("date")) and (r["date"] <= bound if upper else r["date"] >= bound)


def _sort_key(name: str) -> Callable[[Record], Any]:
    return lambda r: r[name].lower() if isinstance(r[name], str) else r[name]


def _seeders(sandbox: Billomat) -> None:
    app = sandbox.app

    def clients(count: int) -> list[Record]:
        return [sandbox.seed_client(app.rng, sandbox.now()) for _ in range(count)]

    def contacts(count: int) -> list[Record]:
        owners = sandbox.table("clients").list() or clients(1)
        return [sandbox.seed_contact(app.rng, app.rng.choice(owners), sandbox.now()) for _ in range(count)]

    def articles(count: int) -> list[Record]:
        return [sandbox.seed_article(app.rng, sandbox.now()) for _ in range(count)]

    def documents(kind: DocKind) -> Callable[[int], list[Record]]:
        def seed(count: int) -> list[Record]:
            owners = sandbox.table("clients").list() or clients(1)
            stock = sandbox.table("articles").list() or articles(3)
            return [
                sandbox.seed_document(kind, app.rng, app.rng.choice(owners), stock, sandbox.now(), DRAFT)
                for _ in range(count)
            ]

        return seed

    app.seeder("clients")(clients)
    app.seeder("contacts")(contacts)
    app.seeder("articles")(articles)
    for kind in DOC_KINDS:
        app.seeder(f"{kind.name}s")(documents(kind))


def create_app(
    seed: int = 1,
    api_key: str = DEFAULT_CREDENTIALS["apiKey"],
    window_seconds: float = 900,
    window_requests: int = 300,
    rate_limits: bool = True,
    now: Callable[[], float] = time.time,
) -> SandboxApp:
    """The Billomat sandbox; ``window_*`` set the fixed rate-limit window (real: 300 per 900 s).

    ``now`` (epoch seconds) is what the window reads; a test passes its ManualClock's ``time``.
    """
    window = FixedWindow(window_requests, window_seconds, now=now)
    window.enabled = rate_limits
    holder: list[Billomat] = []

    def populate(app: SandboxApp) -> None:
        if not holder:
            holder.append(Billomat(app, api_key, window))
        holder[0].populate()

    def rate_limited(retry_after: float) -> Response:
        # Fault-injected 429s look like real ones: the documented JSON body and the window headers.
        wait = max(1, math.ceil(retry_after))
        return JSONResponse(
            {
                "errors": {
                    "error": f"Maximum number of requests ({window.describe()}) reached. Try again in {wait} seconds."
                }
            },
            429,
            {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(math.ceil(now() + wait))},
        )

    def server_error(status: int) -> Response:
        return JSONResponse({"errors": {"error": "Internal Server Error"}}, status)

    app = SandboxApp(
        "billomat",
        prefix=PREFIX,
        seed=seed,
        populate=populate,
        rate_limited=rate_limited,
        server_error=server_error,
    )
    sandbox = holder[0]
    app.on_reset(window.reset)
    app.options.update(
        {
            "api_key": api_key,
            "window_seconds": window_seconds,
            "window_requests": window_requests,
            "rate_limits": rate_limits,
        }
    )
    app.default_credentials = dict(DEFAULT_CREDENTIALS, apiKey=api_key)
    app.add_route("/{path:path}", sandbox.handle, ["GET", "POST", "PUT", "DELETE", "PATCH"])
    _seeders(sandbox)
    return app
