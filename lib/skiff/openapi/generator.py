"""Build a component folder (component.json, schemas, README) from a spec and an overlay.

Mapping rules (the README of every generated component repeats the ones a user needs):

- one declarative action per operation, named by :func:`naming.action_name` (camelCase
  operationId; duplicates get ``2``, ``3``… in document order); ``operationId`` and ``tags``
  are kept on the action;
- the in-schema has the path, query and header parameters as top-level properties and the
  request body as the property ``body`` (``requestBody`` if a parameter is already called
  ``body``); the request templates read them: ``/orders/{{ body.id }}``,
  ``{"page": "{{ body.page }}"}``, ``"body": "{{ body.body }}"``;
- the out-schema is the first 2xx response with a schema, unwrapped at the envelope's
  ``dataPath``; with pagination it describes one record;
- schemas are self-contained (every ``$ref`` inlined, recursion cut);
- output is deterministic: document order where order means something, no timestamps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import ConfigError
from ..http.auth_types import auth_type
from ..specs import EMIT_BEHAVIORS, HttpSpec, PaginationSpec, PollingSpec, RequestSpec
from .naming import NAME_PATTERN, access, action_name, camel, humanize, unique
from .overlay import deep_merge, load_overlay
from .readme import render_readme
from .schema import SchemaConverter, nullable_properties, walk_path
from .spec import ApiSpec, Operation, Parameter, load_spec

__all__ = ["GenerateResult", "build_component", "generate", "render_component"]

_EMIT_BEHAVIORS = list(EMIT_BEHAVIORS)
_JOIN = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
_PAGINATION = TypeAdapter(PaginationSpec)


@dataclass(frozen=True)
class GenerateResult:
    name: str
    out_dir: Path
    actions: int
    triggers: int
    files: tuple[str, ...]  # every generated file, relative to out_dir
    written: tuple[str, ...]  # files whose bytes changed on disk
    removed: tuple[str, ...]  # stale generated schema files deleted
    cuts: int  # recursive references cut while inlining schemas

    def summary(self) -> str:
        changed = (
            f"{len(self.written)} written, {len(self.removed)} removed" if self.written or self.removed else "unchanged"
        )
        return (
            f"generated {self.name}: {self.actions} actions, {self.triggers} triggers, "
            f"{len(self.files)} files in {self.out_dir} ({changed})"
        )


@dataclass
class _Built:
    component: dict[str, Any]
    schemas: dict[str, dict[str, Any]]  # file name under schemas/ -> schema
    readme: str
    logo: bytes | None
    actions: int
    triggers: int
    cuts: int


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _validate(model: Any, value: Any, where: str) -> None:
    try:
        if isinstance(model, TypeAdapter):
            model.validate_python(value)
        else:
            model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        # Drop pydantic's type tags ("list[RateLimitSpec]", "function-after[...]") from the path.
        loc = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and "[" in p))
        raise ConfigError(f"{where}: {loc}: {first['msg']}" if loc else f"{where}: {first['msg']}") from None


def _first_paragraph(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().split("\n\n", 1)[0].strip() or None


class _Builder:
    def __init__(
        self, spec: ApiSpec, spec_file: str, name: str, overlay: dict[str, Any], overlay_dir: Path | None
    ) -> None:
        self.spec = spec
        self.spec_file = spec_file
        self.name = name
        self.ov = overlay
        self.ov_dir = overlay_dir
        self.conv = SchemaConverter(spec.resolve, max_depth=int(overlay.get("maxRefDepth", 8)))
        self.nullable = bool(overlay.get("nullableOutputs", False))
        self.prefix = str(overlay.get("stripPathPrefix") or "").rstrip("/")
        self.schemas: dict[str, dict[str, Any]] = {}
        self.op_pagination: dict[str, dict[str, Any] | None] = {}
        self.envelope_data_path: str | None = None

    # ---------------------------------------------------------------- credentials and http

    def credentials_and_http(self) -> tuple[dict[str, Any], dict[str, Any]]:
        base = self.ov.get("baseUrl") or self.spec.base_url
        fields: dict[str, Any] = {}
        auth: list[dict[str, Any]] = []
        kinds = [s.kind for s in self.spec.security]
        for scheme in self.spec.security:
            shared = kinds.count(scheme.kind) > 1  # two API keys: name fields after the schemes

            def fname(default: str, scheme_name: str = scheme.name, shared: bool = shared) -> str:
                return camel(f"{scheme_name}_{default}") if shared else default

            order = len(fields) + 1
            new_fields, entry = auth_type(scheme.kind).generate(scheme, fname, order, base)
            fields.update(new_fields)
            auth.append(entry)
        base_field: dict[str, Any] = {
            "label": "Base URL",
            "viewClass": "TextFieldView",
            "required": base is None,
            "order": len(fields) + 1,
        }
        if base:
            base_field["default"] = base
            base_field["placeholder"] = base
            base_field["note"] = f"Leave empty for {base}."
            quoted = base.replace("\\", "\\\\").replace("'", "\\'")
            base_tmpl = f"{{{{ cfg.baseUrl or '{quoted}' }}}}"
        else:
            base_field["note"] = "The API's base URL (the spec names no absolute server)."
            base_tmpl = "{{ cfg.baseUrl }}"
        fields["baseUrl"] = base_field
        credentials = deep_merge({"fields": fields}, self.ov.get("credentials") or {})
        merged_fields = credentials.get("fields") or {}
        # Key order is display order in elastic.io's UI: follow "order" (ties keep their place).
        ordered = sorted(merged_fields.items(), key=lambda kv: (kv[1].get("order") is None, kv[1].get("order") or 0))
        credentials["fields"] = dict(ordered)
        http: dict[str, Any] = {"baseUrl": base_tmpl}
        if auth:
            http["auth"] = auth
        http = deep_merge(http, self.ov.get("http") or {})
        _validate(HttpSpec, http, "http")
        envelope = http.get("envelope") or {}
        self.envelope_data_path = envelope.get("dataPath") if isinstance(envelope, dict) else None
        return credentials, http

    # ---------------------------------------------------------------- operations

    def path_of(self, op: Operation) -> str:
        path = op.path
        if self.prefix and (path == self.prefix or path.startswith(self.prefix + "/")):
            path = path[len(self.prefix) :] or "/"
        return path

    def pagination_for(self, op: Operation, op_overlay: dict[str, Any]) -> dict[str, Any] | None:
        query = {p.name for p in op.parameters if p.location == "query"}
        pagination: dict[str, Any] | None = None
        for rule in self.ov.get("paginationRules") or []:
            methods = [m.upper() for m in rule.get("methods") or ["GET"]]
            wanted = rule.get("whenQuery") or []
            if op.method in methods and wanted and all(w in query for w in wanted):
                pagination = dict(rule.get("pagination") or {})
                break
        if "pagination" in op_overlay:
            patch = op_overlay["pagination"]
            pagination = None if patch is None else deep_merge(pagination or {}, patch)
        if pagination is not None:
            _validate(_PAGINATION, pagination, f"pagination of {op.operation_id or op.path}")
        return pagination

    def record_schema(
        self, op: Operation, pagination: dict[str, Any] | None, *, one_record: bool = False
    ) -> dict[str, Any]:
        """The converted success schema: unwrapped at the envelope, one record when paged."""
        if op.response_schema is None:
            if op.response_type == "binary":
                return {"description": "A binary response: emitted as an attachment, the body is empty."}
            return {"description": "The operation answers without a body."}
        schema = self.conv.convert(op.response_schema)
        path = (pagination or {}).get("recordsPath") or self.envelope_data_path
        if path:
            inner = walk_path(schema, path)
            if inner is not None:
                schema = inner
            elif schema.get("type", "object") == "object" and not any(
                k in schema for k in ("properties", "allOf", "anyOf", "oneOf")
            ):
                # An opaque {"type": "object"} describes the envelope, not the data inside it
                # (a bare array or scalar is not an envelope and stays as documented).
                return {"description": f"The API's spec does not describe the data at {path}."}
        one_record = one_record or pagination is not None
        if one_record and schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            schema = schema["items"]
        return schema

    def build_action(
        self, op: Operation, name: str, op_overlay: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        fields = op_overlay.get("fields") or {}
        pagination = self.pagination_for(op, op_overlay)
        self.op_pagination[op.operation_id or name] = pagination
        paging_params: set[str] = set()
        if pagination is not None:
            # The pager sets these itself; in a message they ask for that one page only.
            strategy = _PAGINATION.validate_python(pagination)
            for key in ("pageParam", "sizeParam", "param", "offsetParam", "limitParam"):
                value = getattr(strategy, key, None)
                if value:
                    paging_params.add(str(value))

        props: dict[str, Any] = {}
        required: list[str] = []
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        path = self.path_of(op)
        names_taken = {p.name for p in op.parameters}
        for param in op.parameters:
            if param.location == "query" and param.name in paging_params:
                paged = self.conv.convert(param.schema)
                note = "Given: only this page is read; absent: skiff reads every page."
                paged["description"] = f"{param.description.rstrip('.')}. {note}" if param.description else note
                props[param.name] = paged
                continue
            prop = param.name
            if prop in props:
                prop = f"{param.location}{prop[:1].upper()}{prop[1:]}"
            schema = self.conv.convert(param.schema)
            if param.description:
                schema = {**schema, "description": param.description}
            props[prop] = schema
            has_field = prop in fields
            if param.required and not has_field:
                required.append(prop)
            plain = access("body", prop)
            if has_field:  # a configuration field gives the default; the message wins
                plain = f"{plain} if {plain} is not none else {access('cfg', prop)}"
            value = f"({plain})" if has_field else plain  # for use inside a larger expression
            is_string = schema.get("type", "string") == "string"
            if param.location == "path":
                expr = f"{value} | urlencode | replace('/', '%2F')" if is_string else plain
                path = path.replace("{" + param.name + "}", "{{ " + expr + " }}")
            elif param.location == "query":
                query[param.name] = _query_template(value, plain, param, schema)
            else:
                headers[param.name] = "{{ " + plain + " }}"

        request: dict[str, Any] = {"method": op.method, "path": path}
        if query:
            request["query"] = query
        if headers:
            request["headers"] = headers
        if op.body is not None:
            body_key = "requestBody" if "body" in names_taken or "body" in props else "body"
            body_schema = self.conv.convert(op.body.schema)
            if op.body.description and "description" not in body_schema:
                body_schema = {**body_schema, "description": op.body.description}
            props[body_key] = body_schema
            if op.body.required:
                required.append(body_key)
            body_expr = access("body", body_key)
            form_props = body_schema.get("properties") if op.body.encoding in ("form", "multipart") else None
            if isinstance(form_props, dict) and form_props:
                request["form"] = {k: "{{ " + access(body_expr, k) + " }}" for k in form_props}
            else:
                request["body"] = "{{ " + body_expr + " }}"
        if op.response_type in ("binary", "xml"):
            request["responseType"] = op.response_type
        if pagination is not None:
            props["emitBehavior"] = {
                "type": "string",
                "enum": list(_EMIT_BEHAVIORS),
                "description": "emitIndividually: one message per record; emitPage: one message per page; "
                "fetchAll: one message with every record.",
            }
            props["maxPages"] = {
                "type": "integer",
                "minimum": 1,
                "description": "Stop after this many pages.",
            }

        in_schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            in_schema["required"] = required
        out_schema = self.record_schema(op, pagination)

        title, description = _title_and_description(op)
        action: dict[str, Any] = {"title": title}
        if description:
            action["description"] = description
        if op.deprecated:
            action["deprecated"] = True
        if op.operation_id:
            action["operationId"] = op.operation_id
        if op.tags:
            action["tags"] = list(op.tags)
        action["request"] = request
        if pagination is not None:
            action["pagination"] = pagination
        patch = {k: v for k, v in op_overlay.items() if k not in ("name", "exclude", "metadata", "pagination")}
        action = deep_merge(action, patch)
        _validate(RequestSpec, action.get("request"), f"actions.{name}.request")
        return action, in_schema, out_schema

    def attach_metadata(
        self,
        function: dict[str, Any],
        name: str,
        overlay_meta: dict[str, Any],
        schemas: dict[str, dict[str, Any] | None],
    ) -> None:
        meta: dict[str, Any] = {}
        for direction, generated in schemas.items():
            patch = overlay_meta.get(direction)
            if isinstance(patch, str):  # a hand-written schema file
                meta[direction] = patch
                continue
            if generated is None and patch is None:
                continue
            schema = deep_merge(generated or {}, patch) if patch is not None else generated
            if direction == "out" and self.nullable:
                schema = nullable_properties(schema)
            file_name = f"{name}.{direction}.json"
            self.schemas[file_name] = schema if isinstance(schema, dict) else {}
            meta[direction] = f"./schemas/{file_name}"
        function["metadata"] = meta

    def actions(self, taken: set[str]) -> tuple[dict[str, Any], dict[str, Operation]]:
        overlays: dict[str, Any] = dict(self.ov.get("actions") or {})
        known = {op.operation_id for op in self.spec.operations if op.operation_id}
        stale = sorted(set(overlays) - known)
        if stale:
            raise ConfigError(f"overlay actions name unknown operationId(s): {', '.join(stale)}")
        result: dict[str, Any] = {}
        by_op: dict[str, Operation] = {}
        # Names from the overlay are reserved first so a generated name never takes them.
        renames = {oid: str(o["name"]) for oid, o in overlays.items() if isinstance(o, dict) and o.get("name")}
        for oid, new in renames.items():
            if not NAME_PATTERN.match(new):
                raise ConfigError(f"overlay actions.{oid}.name {new!r} does not match {NAME_PATTERN.pattern}")
            if new in (self.ov.get("triggers") or {}):
                raise ConfigError(f"overlay actions.{oid}.name {new!r} is already a trigger name")
            if new in taken:
                raise ConfigError(f"overlay actions.{oid}.name {new!r} is used twice")
            taken.add(new)
        for op in self.spec.operations:
            op_overlay = overlays.get(op.operation_id or "", {}) or {}
            if op.operation_id:
                by_op[op.operation_id] = op
            if op_overlay.get("exclude"):
                continue
            name = renames.get(op.operation_id or "") or unique(action_name(op.operation_id, op.method, op.path), taken)
            action, in_schema, out_schema = self.build_action(op, name, op_overlay)
            self.attach_metadata(action, name, op_overlay.get("metadata") or {}, {"in": in_schema, "out": out_schema})
            result[name] = action
        return result, by_op

    def triggers(self, taken: set[str], by_op: dict[str, Operation]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, tov in (self.ov.get("triggers") or {}).items():
            if not NAME_PATTERN.match(name):
                raise ConfigError(f"overlay trigger name {name!r} does not match {NAME_PATTERN.pattern}")
            if name in taken:
                raise ConfigError(f"overlay trigger name {name!r} is already an action or trigger name")
            taken.add(name)
            trigger: dict[str, Any] = {"title": tov.get("title") or humanize(name), "type": "polling"}
            out_schema: dict[str, Any] | None = None
            oid = tov.get("operation")
            polling: dict[str, Any] = {}
            if oid is not None:
                op = by_op.get(str(oid))
                if op is None:
                    raise ConfigError(f"overlay triggers.{name}.operation: unknown operationId {oid!r}")
                pagination = self.op_pagination.get(str(oid))
                if str(oid) not in self.op_pagination:
                    pagination = self.pagination_for(op, {})
                path = self.path_of(op)
                for param in op.parameters:
                    if param.location == "path":  # a trigger has no message: path values come from cfg
                        path = path.replace("{" + param.name + "}", "{{ " + access("cfg", param.name) + " }}")
                polling["request"] = {"method": op.method, "path": path}
                records = (pagination or {}).get("recordsPath") or self.envelope_data_path
                if records:
                    polling["recordsPath"] = records
                if pagination is not None:
                    polling["pagination"] = pagination
                out_schema = self.record_schema(op, pagination, one_record=True)
                if op.operation_id:
                    trigger["operationId"] = op.operation_id
                if op.tags:
                    trigger["tags"] = list(op.tags)
            polling = deep_merge(polling, tov.get("polling") or {})
            _validate(PollingSpec, polling, f"triggers.{name}.polling")
            patch = {k: v for k, v in tov.items() if k not in ("operation", "polling", "metadata", "title")}
            trigger = deep_merge(trigger, patch)
            trigger["polling"] = polling
            self.attach_metadata(trigger, name, tov.get("metadata") or {}, {"out": out_schema})
            result[name] = trigger
        return result

    def build(self) -> _Built:
        credentials, http = self.credentials_and_http()
        taken: set[str] = set()
        trigger_names = set((self.ov.get("triggers") or {}).keys())
        taken |= trigger_names  # triggers keep their names; actions avoid them
        actions, by_op = self.actions(taken)
        taken -= trigger_names
        triggers = self.triggers(taken, by_op)
        spec = self.spec
        component: dict[str, Any] = {
            "title": self.ov.get("title") or spec.title,
            "description": self.ov.get("description") or _first_paragraph(spec.description),
            "version": self.ov.get("version") or spec.api_version,
            "docsUrl": self.ov.get("docsUrl") or spec.docs_url,
            "credentials": credentials,
            "http": http,
            "verifyCredentials": self.ov.get("verifyCredentials"),
            "selectModels": self.ov.get("selectModels"),
            "triggers": triggers,
            "actions": actions,
        }
        component = {k: v for k, v in component.items() if v is not None}
        for key in ("verifyCredentials",):
            request = (component.get(key) or {}).get("request")
            if request is not None:
                _validate(RequestSpec, request, f"{key}.request")
        for model, spec_ in (component.get("selectModels") or {}).items():
            if isinstance(spec_, dict) and spec_.get("request") is not None:
                _validate(RequestSpec, spec_["request"], f"selectModels.{model}.request")
        logo: bytes | None = None
        if self.ov.get("logo"):
            logo_path = (self.ov_dir or Path.cwd()) / str(self.ov["logo"])
            try:
                logo = logo_path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"overlay logo {logo_path}: {exc.strerror or exc}") from None
        readme = render_readme(
            self.name,
            spec,
            self.spec_file,
            component,
            self.ov.get("readme") or {},
            has_overlay=self.ov_dir is not None,
        )
        return _Built(component, self.schemas, readme, logo, len(actions), len(triggers), self.conv.cuts)


def _title_and_description(op: Operation) -> tuple[str, str | None]:
    """Title: the summary's first sentence (no final period); the rest leads the description."""
    summary = (op.summary or "").strip()
    head, _, tail = summary.partition("\n")
    match = re.match(r"^(.{12,}?[a-z0-9)])\.(?:\s+|$)(.*)$", head)
    if match:
        head, tail = match.group(1), f"{match.group(2)}\n{tail}".strip()
    title = head.strip()
    rest = tail.strip()
    if not title:
        title = humanize(op.operation_id or f"{op.method} {op.path}")
    description = "\n\n".join(t for t in (rest, op.description or "") if t) or None
    return title, description


def _query_template(value: str, plain: str, param: Parameter, schema: dict[str, Any]) -> str:
    types = schema.get("type")
    is_array = types == "array" or (isinstance(types, list) and "array" in types)
    sep = _JOIN.get(param.style)
    if is_array and sep is not None:
        # A list is joined as the API expects; a string is taken as already joined.
        return "{{ " + f"{value} | join('{sep}') if {value} is sequence and {value} is not string else {value}" + " }}"
    return "{{ " + plain + " }}"


def build_component(spec_path: Path, *, name: str, overlay: Path | None = None) -> _Built:
    spec = load_spec(Path(spec_path))
    data = load_overlay(Path(overlay) if overlay else None)
    overlay_dir = Path(overlay).parent if overlay else None
    return _Builder(spec, Path(spec_path).name, name, data, overlay_dir).build()


def _files(built: _Built) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"component.json": _dump(built.component), "README.md": built.readme}
    for file_name in sorted(built.schemas):
        files[f"schemas/{file_name}"] = _dump(built.schemas[file_name])
    files["actions/.gitkeep"] = ""
    files["triggers/.gitkeep"] = ""
    if built.logo is not None:
        files["logo.png"] = built.logo
    return files


def render_component(spec_path: Path | str, *, name: str, overlay: Path | str | None = None) -> dict[str, str | bytes]:
    """The generated files as ``{relative path: text (bytes for logo.png)}``; writes nothing."""
    return _files(build_component(Path(spec_path), name=name, overlay=Path(overlay) if overlay else None))


def generate(
    spec_path: Path | str, *, name: str, out_dir: Path | str, overlay: Path | str | None = None
) -> GenerateResult:
    """Write the component folder. Files are rewritten only when their bytes change; generated
    schema files that are no longer produced are removed. ``actions/`` and ``triggers/``
    handlers, ``sandbox/`` and the overlay are never touched."""
    out = Path(out_dir)
    built = build_component(Path(spec_path), name=name, overlay=Path(overlay) if overlay else None)
    files = _files(built)
    written: list[str] = []
    for rel, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        target = out / rel
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(rel)
    removed: list[str] = []
    schema_dir = out / "schemas"
    if schema_dir.is_dir():
        for stale in sorted(schema_dir.glob("*.json")):
            rel = f"schemas/{stale.name}"
            if rel not in files:
                stale.unlink()
                removed.append(rel)
    return GenerateResult(
        name=name,
        out_dir=out,
        actions=built.actions,
        triggers=built.triggers,
        files=tuple(files),
        written=tuple(written),
        removed=tuple(removed),
        cuts=built.cuts,
    )
