"""Read a Swagger 2.0 or OpenAPI 3.0/3.1 document into one normalised view of its operations.

The rest of the generator never looks at which version a document is: Swagger's body and
formData parameters, OpenAPI 3's ``requestBody`` and ``content`` maps, both ways of naming
servers and security schemes are folded into :class:`ApiSpec` here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import ConfigError
from ..parse_errors import syntax_error_line

__all__ = [
    "HTTP_METHODS",
    "ApiSpec",
    "Body",
    "Operation",
    "Parameter",
    "SecurityScheme",
    "load_spec",
    "read_document",
]

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")
# Headers a client sets itself; OpenAPI 3 says such parameter definitions are ignored.
_RESERVED_HEADERS = {"accept", "content-type", "authorization"}

ArrayStyle = Literal["multi", "csv", "ssv", "tsv", "pipes", "deepObject"]
ResponseType = Literal["json", "xml", "binary", "auto"]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: ``example: 2019-01-01`` must stay a string."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_document(path: Path) -> dict[str, Any]:
    """Parse a JSON or YAML file into a dict (YAML timestamps stay strings)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {syntax_error_line(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a mapping at the top level")
    return data


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Literal["path", "query", "header"]
    required: bool
    schema: dict[str, Any]  # unresolved OpenAPI schema
    description: str | None
    style: ArrayStyle  # how an array value is serialised


@dataclass(frozen=True)
class Body:
    schema: dict[str, Any]
    required: bool
    description: str | None
    encoding: Literal["json", "form", "multipart", "other"]


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    operation_id: str | None
    summary: str | None
    description: str | None
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body: Body | None
    response_schema: dict[str, Any] | None  # first 2xx response with a schema
    response_status: str | None
    response_type: ResponseType
    deprecated: bool


@dataclass(frozen=True)
class SecurityScheme:
    name: str
    kind: Literal["apiKey", "basic", "bearer", "oauth2"]
    description: str | None = None
    location: Literal["header", "query"] = "header"  # apiKey
    param_name: str = ""  # apiKey header or query name
    token_url: str | None = None  # oauth2 client credentials
    scopes: tuple[str, ...] = ()


@dataclass
class ApiSpec:
    document: dict[str, Any]
    version: Literal["2.0", "3.0", "3.1"]
    title: str
    description: str | None
    api_version: str | None
    docs_url: str | None
    base_url: str | None
    operations: list[Operation]
    security: list[SecurityScheme]  # the schemes of the requirement the component uses
    unsupported_security: list[str]  # "name (reason)" for schemes that cannot be mapped
    tags: list[tuple[str, str | None]]  # (name, description) in document order
    skipped: list[str] = field(default_factory=list)  # operations left out, with the reason

    def resolve(self, ref: str) -> Any:
        return resolve_pointer(self.document, ref)


def resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    """Follow a local ``#/a/b`` reference; anything else is a ConfigError."""
    if not ref.startswith("#"):
        raise ConfigError(f"external reference {ref!r} is not supported (bundle the spec first)")
    node: Any = document
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ConfigError(f"reference {ref!r} does not resolve")
    return node


def _deref(document: dict[str, Any], node: Any, limit: int = 20) -> Any:
    """Follow a chain of ``$ref`` objects (parameters, responses, request bodies)."""
    while isinstance(node, dict) and "$ref" in node and limit > 0:
        node = resolve_pointer(document, node["$ref"])
        limit -= 1
    return node


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


# Keys of a Swagger 2 non-body parameter that are JSON Schema keywords.
_SWAGGER_PARAM_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
)
_COLLECTION_FORMATS: dict[str, ArrayStyle] = {
    "multi": "multi",
    "csv": "csv",
    "ssv": "ssv",
    "tsv": "tsv",
    "pipes": "pipes",
}


def _pick_media(content: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The media type a client would use: JSON first, then anything JSON-like, then the first."""
    if not content:
        return None
    keys = list(content)
    for wanted in ("application/json",):
        if wanted in content:
            return wanted, content[wanted] or {}
    for key in keys:
        if key.endswith("+json") or "json" in key:
            return key, content[key] or {}
    for key in ("application/x-www-form-urlencoded", "multipart/form-data", "*/*"):
        if key in content:
            return key, content[key] or {}
    return keys[0], content[keys[0]] or {}


def _encoding(media: str) -> Literal["json", "form", "multipart", "other"]:
    if "json" in media or media == "*/*":
        return "json"
    if media == "application/x-www-form-urlencoded":
        return "form"
    if media.startswith("multipart/"):
        return "multipart"
    return "other"


def _response_type(media: str | None) -> ResponseType:
    if media is None or "json" in media or media == "*/*":
        return "auto"
    if "xml" in media:
        return "xml"
    if media.startswith(("text/", "application/x-www-form")):
        return "auto"
    return "binary"


class _Reader:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        if str(document.get("swagger", "")).startswith("2"):
            self.version: Literal["2.0", "3.0", "3.1"] = "2.0"
        elif str(document.get("openapi", "")).startswith("3.1"):
            self.version = "3.1"
        elif str(document.get("openapi", "")).startswith("3"):
            self.version = "3.0"
        else:
            raise ConfigError("not a Swagger 2.0 or OpenAPI 3.x document (no 'swagger'/'openapi' key)")
        self.swagger = self.version == "2.0"

    # ---------------------------------------------------------------- servers

    def base_url(self) -> str | None:
        doc = self.doc
        if self.swagger:
            host = doc.get("host")
            if not host:
                return None
            schemes = doc.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            base_path = str(doc.get("basePath") or "").rstrip("/")
            return f"{scheme}://{host}{base_path}"
        servers = doc.get("servers") or []
        if not servers or not isinstance(servers[0], dict):
            return None
        url = str(servers[0].get("url", ""))
        for var, spec in (servers[0].get("variables") or {}).items():
            url = url.replace("{" + var + "}", str((spec or {}).get("default", "")))
        if not re.match(r"^https?://", url):
            return None  # a relative server URL: the user must give the base URL
        return url.rstrip("/")

    # ---------------------------------------------------------------- security

    def security(self) -> tuple[list[SecurityScheme], list[str]]:
        doc = self.doc
        defs = doc.get("securityDefinitions") if self.swagger else (doc.get("components") or {}).get("securitySchemes")
        defs = defs or {}
        requirement = self._requirement()
        schemes: list[SecurityScheme] = []
        unsupported: list[str] = []
        for name in requirement:
            raw = _deref(doc, defs.get(name))
            if not isinstance(raw, dict):
                unsupported.append(f"{name} (not defined)")
                continue
            scheme, reason = self._scheme(name, raw)
            if scheme is None:
                unsupported.append(f"{name} ({reason})")
            else:
                schemes.append(scheme)
        return schemes, unsupported

    def _requirement(self) -> list[str]:
        """Scheme names of the first non-empty requirement: the document's, else the most used."""
        top = self.doc.get("security")
        for req in top or []:
            if isinstance(req, dict) and req:
                return list(req)
        if top is not None and not top:
            return []
        counts: dict[tuple[str, ...], int] = {}
        for _, _, op in self._raw_operations():
            for req in op.get("security") or []:
                if isinstance(req, dict) and req:
                    counts[tuple(req)] = counts.get(tuple(req), 0) + 1
                    break
        if not counts:
            return []
        best = max(counts.items(), key=lambda kv: kv[1])  # max keeps the first of equals
        return list(best[0])

    def _scheme(self, name: str, raw: dict[str, Any]) -> tuple[SecurityScheme | None, str]:
        kind = str(raw.get("type", ""))
        desc = _text(raw.get("description"))
        if kind == "apiKey":
            where = raw.get("in")
            if where not in ("header", "query"):
                return None, f"API key in {where} is not supported"
            return SecurityScheme(name, "apiKey", desc, where, str(raw.get("name", ""))), ""
        if kind == "basic" or (kind == "http" and str(raw.get("scheme", "")).lower() == "basic"):
            return SecurityScheme(name, "basic", desc), ""
        if kind == "http" and str(raw.get("scheme", "")).lower() == "bearer":
            return SecurityScheme(name, "bearer", desc), ""
        if kind == "oauth2":
            if self.swagger:
                if raw.get("flow") == "application":
                    scopes = tuple(sorted(raw.get("scopes") or {}))
                    return SecurityScheme(name, "oauth2", desc, token_url=raw.get("tokenUrl"), scopes=scopes), ""
                return None, f"OAuth2 flow {raw.get('flow')!r} is not supported (client credentials only)"
            flow = (raw.get("flows") or {}).get("clientCredentials")
            if isinstance(flow, dict):
                scopes = tuple(sorted(flow.get("scopes") or {}))
                return SecurityScheme(name, "oauth2", desc, token_url=flow.get("tokenUrl"), scopes=scopes), ""
            return None, "OAuth2 without a clientCredentials flow is not supported"
        return None, f"security scheme type {kind!r} is not supported"

    # ---------------------------------------------------------------- operations

    def _raw_operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        out: list[tuple[str, str, dict[str, Any]]] = []
        for path, item in (self.doc.get("paths") or {}).items():
            item = _deref(self.doc, item)
            if not isinstance(item, dict):
                continue
            for method in HTTP_METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    out.append((str(path), method, op))
        return out

    def operations(self) -> tuple[list[Operation], list[str]]:
        ops: list[Operation] = []
        skipped: list[str] = []
        for path, item in (self.doc.get("paths") or {}).items():
            item = _deref(self.doc, item)
            if not isinstance(item, dict):
                continue
            for method, op in item.items():
                if method in ("options", "trace"):
                    skipped.append(f"{method.upper()} {path} (method not supported)")
                if method not in HTTP_METHODS or not isinstance(op, dict):
                    continue
                ops.append(self._operation(str(path), method, item.get("parameters") or [], op))
        return ops, skipped

    def _operation(self, path: str, method: str, shared: list[Any], op: dict[str, Any]) -> Operation:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *(op.get("parameters") or [])]:
            param = _deref(self.doc, raw)
            if isinstance(param, dict) and "name" in param and "in" in param:
                merged[(str(param["name"]), str(param["in"]))] = param  # the operation's wins
        params: list[Parameter] = []
        body: Body | None = None
        form: list[dict[str, Any]] = []
        for (pname, where), raw in merged.items():
            if where == "body":
                body = Body(raw.get("schema") or {}, bool(raw.get("required")), _text(raw.get("description")), "json")
            elif where == "formData":
                form.append(raw)
            elif where in ("path", "query", "header"):
                if where == "header" and pname.lower() in _RESERVED_HEADERS:
                    continue
                params.append(self._parameter(pname, where, raw))
        if form:
            body = self._form_body(form, op)
        if not self.swagger and op.get("requestBody") is not None:
            body = self._request_body(_deref(self.doc, op["requestBody"]))
        schema, status, rtype = self._success_response(op)
        tags = tuple(str(t) for t in op.get("tags") or [])
        return Operation(
            method=method.upper(),
            path=path,
            operation_id=_text(op.get("operationId")),
            summary=_text(op.get("summary")),
            description=_text(op.get("description")),
            tags=tags,
            parameters=tuple(params),
            body=body,
            response_schema=schema,
            response_status=status,
            response_type=rtype,
            deprecated=bool(op.get("deprecated")),
        )

    def _parameter(self, name: str, where: str, raw: dict[str, Any]) -> Parameter:
        style: ArrayStyle = "multi"
        schema: dict[str, Any]
        if self.swagger:
            schema = {k: raw[k] for k in _SWAGGER_PARAM_SCHEMA_KEYS if k in raw}
            if schema.get("type") == "array":
                style = _COLLECTION_FORMATS.get(str(raw.get("collectionFormat", "csv")), "csv")
        else:
            if isinstance(raw.get("schema"), dict):
                schema = raw["schema"]
            else:  # a parameter described by a content map instead of a schema
                picked = _pick_media(raw.get("content") or {})
                found = picked[1].get("schema") if picked else None
                schema = found if isinstance(found, dict) else {}
            default_style = "form" if where == "query" else "simple"
            explode = raw.get("explode", raw.get("style", default_style) == "form")
            oas_style = raw.get("style", default_style)
            if oas_style == "form":
                style = "multi" if explode else "csv"
            elif oas_style == "spaceDelimited":
                style = "ssv"
            elif oas_style == "pipeDelimited":
                style = "pipes"
            elif oas_style == "deepObject":
                style = "deepObject"
            else:
                style = "csv"
        location: Literal["path", "query", "header"] = where  # type: ignore[assignment]
        return Parameter(
            name=name,
            location=location,
            required=bool(raw.get("required")) or where == "path",
            schema=schema,
            description=_text(raw.get("description")),
            style=style,
        )

    def _form_body(self, form: list[dict[str, Any]], op: dict[str, Any]) -> Body:
        props: dict[str, Any] = {}
        required: list[str] = []
        multipart = False
        for raw in form:
            schema = {k: raw[k] for k in _SWAGGER_PARAM_SCHEMA_KEYS if k in raw}
            if schema.get("type") == "file":
                multipart = True
            if _text(raw.get("description")):
                schema["description"] = raw["description"]
            props[str(raw["name"])] = schema
            if raw.get("required"):
                required.append(str(raw["name"]))
        consumes = op.get("consumes") or self.doc.get("consumes") or []
        multipart = multipart or "multipart/form-data" in consumes
        schema_obj: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema_obj["required"] = required
        return Body(schema_obj, bool(required), None, "multipart" if multipart else "form")

    def _request_body(self, raw: Any) -> Body | None:
        if not isinstance(raw, dict):
            return None
        picked = _pick_media(raw.get("content") or {})
        if picked is None:
            return None
        media, spec = picked
        return Body(
            spec.get("schema") or {},
            bool(raw.get("required")),
            _text(raw.get("description")),
            _encoding(media),
        )

    def _success_response(self, op: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, ResponseType]:
        responses = op.get("responses") or {}
        codes = sorted(str(code) for code in responses if str(code).startswith("2"))
        produces = op.get("produces") or self.doc.get("produces") or []
        first_status: str | None = codes[0] if codes else None
        for code in codes:
            raw = responses.get(code, responses.get(int(code) if code.isdigit() else code))
            resp = _deref(self.doc, raw)
            if not isinstance(resp, dict):
                continue
            if self.swagger:
                schema = resp.get("schema")
                if isinstance(schema, dict):
                    if schema.get("type") == "file":
                        return schema, code, "binary"
                    media = None
                    if produces and not any("json" in p for p in produces):
                        media = str(produces[0])
                    return schema, code, _response_type(media)
            else:
                picked = _pick_media(resp.get("content") or {})
                if picked is not None:
                    media, spec = picked
                    rtype = _response_type(media)
                    schema = spec.get("schema")
                    if isinstance(schema, dict):
                        return schema, code, rtype
                    if rtype == "binary":
                        return None, code, rtype
        return None, first_status, "auto"


def load_spec(path: Path) -> ApiSpec:
    """Read and normalise a Swagger 2.0 / OpenAPI 3.x file (JSON or YAML)."""
    document = read_document(path)
    reader = _Reader(document)
    info = document.get("info") or {}
    docs = (document.get("externalDocs") or {}).get("url") or (info.get("contact") or {}).get("url")
    operations, skipped = reader.operations()
    security, unsupported = reader.security()
    tags = [
        (str(t["name"]), _text(t.get("description")))
        for t in document.get("tags") or []
        if isinstance(t, dict) and "name" in t
    ]
    return ApiSpec(
        document=document,
        version=reader.version,
        title=_text(info.get("title")) or path.stem,
        description=_text(info.get("description")),
        api_version=_text(str(info["version"])) if info.get("version") is not None else None,
        docs_url=_text(docs),
        base_url=reader.base_url(),
        operations=operations,
        security=security,
        unsupported_security=unsupported,
        tags=tags,
        skipped=skipped,
    )
