"""Plenigo API v3 conventions shared by every route: errors, timestamps, search paging, body checks.

Facts this follows (plenigo's API reference and its public docs repository, faqs/CURSORS.md and
faqs/ERRORCODES.md): lists are sorted by the entity id, ``startingAfter``/``endingBefore`` are
object ids, ``size`` outside 5..100 silently becomes 5, ``startTime``/``endTime`` filter on the
change date (inclusive), errors are ``{"errorCode", "errorMessage"}`` and a 400 may add
``validationErrors: [{"field", "error", "value"}]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "MSG_BAD_DATA",
    "MSG_NOT_FOUND",
    "Ctx",
    "Operation",
    "OperationTable",
    "PlenigoError",
    "Record",
    "SearchParams",
    "bad_request",
    "error_body",
    "json_response",
    "not_found",
    "parse_rfc3339",
    "public",
    "search_response",
    "ts",
]

Record = dict[str, Any]

MSG_BAD_DATA = "Provided data cannot be processed."
MSG_NOT_FOUND = "Entity for given id does not exist."
MSG_UNAUTHORIZED = "Api token provided is not authorized."
MSG_RATE_LIMIT = "The rate limit for this endpoint is reached. Please try again later."

MIN_SIZE, MAX_SIZE, DEFAULT_SIZE = 5, 100, 5

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def ts(dt: datetime) -> str:
    """``2024-03-05T09:14:27.318204Z``: fixed width, so stored stamps compare as strings."""
    d = dt.astimezone(UTC)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond:06d}Z"


def parse_rfc3339(text: str) -> datetime:
    """A strict RFC 3339 date-time (offset required, like plenigo's Go backend); ValueError otherwise."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(text)
    fraction = (match.group(7) or ".0")[1:][:6].ljust(6, "0")
    base = text[: match.start(7)] if match.group(7) else text[: match.start(8)]
    offset = match.group(8).upper().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(f"{base}.{fraction}{offset}")
    return parsed.astimezone(UTC)


def public(record: Mapping[str, Any]) -> Record:
    """The record as the API shows it: keys starting with ``_`` are sandbox bookkeeping."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def error_body(code: int, message: str, validation: list[dict[str, str]] | None = None) -> Record:
    body: Record = {"errorCode": code, "errorMessage": message}
    if validation is not None:
        body["validationErrors"] = validation
    return body


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


class PlenigoError(Exception):
    """Raised by handlers; the route wrapper turns it into plenigo's error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        validation: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.validation = validation

    def response(self) -> Response:
        return json_response(error_body(self.code, self.message, self.validation), self.status)


def bad_request(
    field_name: str, error: str, value: Any, *, code: int = 99400, message: str = MSG_BAD_DATA
) -> PlenigoError:
    """A 400 naming one field, in the shape of the spec's example (``numeric``, ``required``, ...)."""
    shown = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return PlenigoError(400, code, message, [{"field": field_name, "error": error, "value": shown}])


def not_found() -> PlenigoError:
    return PlenigoError(404, 99404, MSG_NOT_FOUND)


# ---------------------------------------------------------------------------- search paging


def _id_key(value: Any, numeric: bool) -> Any:
    return int(value) if numeric else str(value)


@dataclass
class SearchParams:
    """The common search parameters, parsed and checked (a bad one is a 400 before any work)."""

    size: int = DEFAULT_SIZE
    starting_after: Any = None
    ending_before: Any = None
    descending: bool = False
    start_time: str | None = None  # normalised with ts() for string comparison
    end_time: str | None = None

    @classmethod
    def parse(cls, query: QueryParams, *, numeric: bool = True, default_sort: str = "ASC") -> SearchParams:
        params = cls()
        raw_size = query.get("size")
        if raw_size not in (None, ""):
            try:
                size = int(raw_size)
            except ValueError:
                raise bad_request(
                    "size", "numeric", raw_size, code=99006, message="Size parameter must be an integer value."
                ) from None
            # Documented: "if the size is not within range it will be automatically set to 5".
            params.size = size if MIN_SIZE <= size <= MAX_SIZE else DEFAULT_SIZE
        for name in ("startingAfter", "endingBefore"):
            raw = query.get(name)
            if raw in (None, ""):
                continue
            if len(raw) > 100:
                raise bad_request(name, "max", raw)
            if numeric and not raw.isdigit():
                raise bad_request(
                    name, "numeric", raw, code=99007, message="Starting after parameter must be an integer value."
                )
            if name == "startingAfter":
                params.starting_after = _id_key(raw, numeric)
            else:
                params.ending_before = _id_key(raw, numeric)
        sort = query.get("sort") or default_sort
        if sort not in ("ASC", "DESC"):
            raise bad_request("sort", "oneof", sort)
        params.descending = sort == "DESC"
        for name in ("startTime", "endTime"):
            raw = query.get(name)
            if raw in (None, ""):
                continue
            try:
                stamp = ts(parse_rfc3339(raw))
            except ValueError:
                raise bad_request(
                    name, "datetime", raw, code=99003, message="Date and time must be formatted as RFC3339."
                ) from None
            if name == "startTime":
                params.start_time = stamp
            else:
                params.end_time = stamp
        return params

    def in_window(self, stamp: str | None) -> bool:
        if self.start_time is None and self.end_time is None:
            return True
        if stamp is None:
            return False
        if self.start_time is not None and stamp < self.start_time:
            return False
        return not (self.end_time is not None and stamp > self.end_time)


def search_response(
    rows: Iterable[Record],
    params: SearchParams,
    *,
    id_field: str,
    numeric: bool = True,
    time_field: str | Callable[[Record], str | None] = "changedDate",
    render: Callable[[Record], Record] = public,
) -> Response:
    """One page of ``rows``: time window, id order, cursor, size; plus both cursor ids.

    Ids define the order (the docs: "the entity list is sorted by the entity id"), so a
    changed record keeps its place and a polling client sees every change exactly once per
    window. ``startingAfterId``/``endingBeforeId`` are the last/first ids of a non-empty page.
    """
    field_name = time_field if isinstance(time_field, str) else ""

    def stamp_of(record: Record) -> str | None:
        if callable(time_field):
            return time_field(record)
        return record.get(field_name) or record.get("createdDate")

    selected = [r for r in rows if params.in_window(stamp_of(r))]
    selected.sort(key=lambda r: _id_key(r[id_field], numeric), reverse=params.descending)

    def after(r: Record, cursor: Any) -> bool:
        key = _id_key(r[id_field], numeric)
        return bool(key < cursor) if params.descending else bool(key > cursor)

    if params.starting_after is not None:
        page = [r for r in selected if after(r, params.starting_after)][: params.size]
    elif params.ending_before is not None:
        before = [r for r in selected if not after(r, params.ending_before)]
        before = [r for r in before if _id_key(r[id_field], numeric) != params.ending_before]
        page = before[-params.size :]
    else:
        page = selected[: params.size]
    body: Record = {"items": [render(r) for r in page]}
    if page:
        body["startingAfterId"] = str(page[-1][id_field])
        body["endingBeforeId"] = str(page[0][id_field])
    return json_response(body)


# ---------------------------------------------------------------------------- body validation

_FORMATS = FormatChecker(["date", "date-time", "email"])


def _tag(error: ValidationError) -> str:
    """jsonschema keyword -> the validator tag plenigo reports (Go validator names)."""
    keyword = str(error.validator)
    if keyword == "format":
        return {"date-time": "datetime", "date": "date", "email": "email"}.get(str(error.validator_value), "format")
    if keyword == "pattern":
        return "numeric" if "0-9]{1," in str(error.validator_value) else "pattern"
    return {
        "required": "required",
        "maxLength": "max",
        "maximum": "max",
        "maxItems": "max",
        "minLength": "min",
        "minimum": "min",
        "minItems": "min",
        "enum": "oneof",
        "type": "type",
        "propertyNames": "key",
        "anyOf": "required_without",
    }.get(keyword, keyword)


def _field(error: ValidationError) -> str:
    parts = [str(p) if isinstance(p, str) else f"[{p}]" for p in error.absolute_path]
    if error.validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        if missing:
            parts.append(missing.group(1))
    return ".".join(parts).replace(".[", "[") or "body"


def _value(error: ValidationError) -> str:
    if error.validator == "required" or error.validator == "anyOf":
        return ""
    instance = error.instance
    return instance if isinstance(instance, str) else json.dumps(instance, ensure_ascii=False)


def compile_schema(schema: Mapping[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validation_errors(validator: Draft202012Validator, body: Any) -> list[dict[str, str]]:
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [{"field": _field(e), "error": _tag(e), "value": _value(e)} for e in errors]


# ---------------------------------------------------------------------------- routes


@dataclass
class Ctx:
    """What a handler gets: the request, the sandbox's data and helpers for params and bodies."""

    request: Request
    world: Any  # data.World (kept Any here to avoid an import cycle)

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def int_path(self, name: str, *, invalid: int = 404) -> int:
        """An integer path id; a malformed one is a 404 (or 400 where the spec says so)."""
        raw = self.path(name)
        if raw.isdigit() and len(raw) <= 18:
            return int(raw)
        if invalid == 400:
            raise bad_request(name, "numeric", raw)
        raise not_found()

    def search(self, *, numeric: bool = True, default_sort: str = "ASC") -> SearchParams:
        return SearchParams.parse(self.query, numeric=numeric, default_sort=default_sort)

    def bool_query(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_request(name, "boolean", raw)

    def int_query(self, name: str) -> int | None:
        raw = self.query.get(name)
        if raw in (None, ""):
            return None
        if not raw.isdigit():
            raise bad_request(name, "numeric", raw)
        return int(raw)

    def enum_query(self, name: str, allowed: Iterable[str]) -> str | None:
        raw = self.query.get(name)
        if raw in (None, ""):
            return None
        if raw not in set(allowed):
            raise bad_request(name, "oneof", raw)
        return raw

    async def body(self, validator: Draft202012Validator) -> Record:
        """The JSON body, checked completely before the handler changes anything."""
        raw = await self.request.body()
        if not raw.strip():
            raise PlenigoError(400, 99001, "Request body is missing.")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise PlenigoError(400, 99002, "Request body format is not valid json.") from None
        if not isinstance(data, dict):
            raise PlenigoError(400, 99014, "Passed data types are not correct.")
        problems = validation_errors(validator, data)
        if problems:
            raise PlenigoError(400, 99400, MSG_BAD_DATA, problems)
        return data


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # exactly as in the OpenAPI spec, without the /api/v3.0 prefix
    operation_id: str
    tag: str
    handler: Handler


@dataclass
class OperationTable:
    """Every implemented operation; app.py registers them in a collision-free order."""

    operations: list[Operation] = field(default_factory=list)

    def op(self, method: str, path: str, operation_id: str, tag: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, path, operation_id, tag, handler)
            return handler

        return register

    def add(self, method: str, path: str, operation_id: str, tag: str, handler: Handler) -> None:
        if any(o.operation_id == operation_id for o in self.operations):
            raise ValueError(f"duplicate operation {operation_id}")
        self.operations.append(Operation(method.upper(), path, operation_id, tag, handler))

    def extend(self, other: OperationTable) -> None:
        for o in other.operations:
            self.add(o.method, o.path, o.operation_id, o.tag, o.handler)

    def ordered(self) -> list[Operation]:
        """Literal segments before parameters, so ``/customers/optIns`` wins over ``/customers/{id}``."""
        return sorted(self.operations, key=lambda o: [s.startswith("{") for s in o.path.split("/")])
