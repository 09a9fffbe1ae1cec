"""The declarative call: one request, built once, handed whole to the HTTP client.

A :class:`Call` is a rendered :class:`~skiff.specs.RequestSpec` (optional query parameters
and headers that rendered to nothing already dropped) plus its pagination, records path,
emit behaviour and retry hints. :func:`perform` sends it, page by page when paged, and hands
the records (or the single body) to an emitter. Declarative actions, the generic ``http``
component, select models and verifyCredentials all run through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from ..errors import ConfigError
from ..http import HttpClient, Response
from ..message import Message
from ..specs import EmitBehavior, OffsetPagination, PagePagination, PaginationSpec, RequestSpec

__all__ = ["Call", "clean_request", "response_body"]

_PAGINATION: TypeAdapter[PaginationSpec] = TypeAdapter(PaginationSpec)


def _clean(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop query parameters and headers that rendered to nothing (optional inputs).

    A name ending in ``*`` spreads an object: ``"property*": {"18280": "x"}`` sends
    ``property18280=x`` (names that only the message knows, such as custom fields).
    """
    if not values:
        return {}
    out: dict[str, Any] = {}
    for k, v in values.items():
        if v is None or v == "" or v == [] or v == {}:
            continue
        if k.endswith("*"):
            if not isinstance(v, Mapping):
                raise ConfigError(f"{k!r} must render to an object (name: value), not {type(v).__name__}")
            out.update(_clean({f"{k[:-1]}{name}": value for name, value in v.items()}))
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        out[k] = v
    return out


def clean_request(request: RequestSpec | Mapping[str, Any]) -> RequestSpec:
    """A rendered request ready to send: empty query values, headers and body keys dropped."""
    spec = request if isinstance(request, RequestSpec) else RequestSpec.model_validate(request)
    body = spec.body
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if v is not None}
    return spec.model_copy(
        update={
            "query": _clean(spec.query),
            "headers": {k: str(v) for k, v in _clean(spec.headers).items()},
            "form": _clean(spec.form) if spec.form else None,
            "body": body,
        }
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One declarative call, ready to perform.

    ``records_path``: None keeps the body whole (a single object); a path (``""`` for the body
    itself) makes the answer a list of records. A paged call always yields records.
    """

    request: RequestSpec
    pagination: PaginationSpec | None = None
    records_path: str | None = None
    emit_behavior: EmitBehavior = "emitIndividually"
    idempotent: bool | None = None
    endpoint: str | None = None
    start: Mapping[str, Any] | None = None  # resume paging there (see skiff.http.pagination)
    one_page: bool = False  # read that one page only

    @classmethod
    def build(
        cls,
        request: RequestSpec | Mapping[str, Any],
        *,
        pagination: PaginationSpec | Mapping[str, Any] | None = None,
        records_path: str | None = None,
        emit_behavior: EmitBehavior | None = None,
        max_pages: int | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        start: Mapping[str, Any] | None = None,
        one_page: bool = False,
    ) -> Call:
        """Validate and clean once; the pagination's records path defaults to ``records_path``."""
        spec = clean_request(request)
        pag: PaginationSpec | None = None
        if pagination is not None:
            pag = _PAGINATION.validate_python(pagination) if isinstance(pagination, Mapping) else pagination
            updates: dict[str, Any] = {}
            if max_pages is not None:
                updates["maxPages"] = max_pages
            if records_path and not pag.recordsPath:
                updates["recordsPath"] = records_path
            if one_page and isinstance(pag, PagePagination | OffsetPagination) and pag.fetchAhead:
                updates["fetchAhead"] = 0  # one page asked for: nothing to fetch ahead
            if updates:
                pag = pag.model_copy(update=updates)
            records_path = pag.recordsPath
        return cls(
            request=spec,
            pagination=pag,
            records_path=records_path,
            emit_behavior=emit_behavior or "emitIndividually",
            idempotent=idempotent,
            endpoint=endpoint,
            start=dict(start) if start else None,
            one_page=one_page,
        )

    async def send(self, http: HttpClient) -> Response:
        """The request once, unpaged."""
        return await http.send(self.request, idempotent=self.idempotent, endpoint=self.endpoint)

    @property
    def yields_records(self) -> bool:
        return self.pagination is not None or self.records_path is not None


def _filename(response: Response) -> str | None:
    disp = response.headers.get("content-disposition", "")
    for part in disp.split(";"):
        part = part.strip()
        if part.lower().startswith("filename="):
            return part.split("=", 1)[1].strip('"') or None
    return None


def response_body(response: Response) -> Any:
    """The body of a single answer: parsed data, or a :class:`Message` carrying a binary one."""
    ctype = response.content_type or ""
    if response.data is None and response.content and not ctype.startswith(("application/json", "text/")):
        att = response.attachment()
        name = _filename(response) or "response"
        return Message(
            body={"filename": name, "contentType": att.content_type, "size": att.size},
            attachments={name: att},
        )
    return response.data
