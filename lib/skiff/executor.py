"""The shared executor: runs one action or trigger call through one pipeline.

check cfg → check the body against the in-schema → run the handler (or the declarative
request) → check each output against the out-schema → emit. Events map one to one to the
elastic.io sailor's (data, error, snapshot, updateSnapshot, rebound, updateKeys, end), so a
runner (the CLI, the embedded flow runner, the RabbitMQ worker) is a thin adapter over
:meth:`Executor.run`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from .component import Component, Function
from .component.models import FieldModel
from .errors import ApiError, AuthError, ComponentError, ConfigError, InputError, SkiffError
from .http import HttpClient, RateLimiter, Response
from .http.bodies import get_path, to_records
from .http.pagination import requested_page
from .http.redact import is_sensitive_name, redact, secret_text
from .message import Message
from .specs import AuthSpec, EmitBehavior, HttpSpec, PaginationSpec, PollingSpec, RateLimitSpec, RequestSpec
from .templating import render
from .validation import SchemaValidator, compile_schema

__all__ = ["Context", "Event", "EventKind", "Executor", "RunResult", "cfg_schema", "secrets_of"]

EventKind = Literal["data", "error", "snapshot", "updateSnapshot", "rebound", "updateKeys", "end"]
Emit = Callable[["Event"], Awaitable[None]]

log = logging.getLogger("skiff.executor")

_AUTH_LIST = TypeAdapter(list[AuthSpec])
_LIMIT_LIST = TypeAdapter(list[RateLimitSpec])
_PAGINATION = TypeAdapter(PaginationSpec)
_SECRET_VIEWS = {"PasswordFieldView"}


@dataclass(slots=True)
class Event:
    kind: EventKind
    payload: Any = None


@dataclass(slots=True)
class RunResult:
    data: int = 0
    error: SkiffError | None = None
    snapshot: dict[str, Any] | None = None
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0


def secrets_of(component: Component, cfg: Mapping[str, Any]) -> list[str]:
    """The cfg values that must never appear in a log line, an error or an emitted message."""
    fields = dict(component.model.credentials.fields)
    out: list[str] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k, v)
        elif (text := secret_text(value)) is not None and text:
            # A number from YAML (``password: 12345678``) is as secret as a string.
            field_model = fields.get(name)
            if is_sensitive_name(name) or (field_model is not None and field_model.viewClass in _SECRET_VIEWS):
                out.append(text)

    for key, value in cfg.items():
        walk(key, value)
    return out


def _json_type(f: FieldModel) -> Any:
    if f.type:
        return f.type
    if f.viewClass == "CheckBoxView":
        return "boolean"
    if f.viewClass == "NumberFieldView":
        return "number"
    if f.viewClass == "MultiSelectView":
        return "array"
    if f.viewClass in ("CodeFieldView", "JSONataView"):
        return None
    return "string"


def cfg_schema(component: Component, function: Function | None) -> dict[str, Any]:
    """The JSON Schema a cfg must match: credential fields plus the function's fields."""
    fields = dict(component.model.credentials.fields)
    if function is not None:
        fields.update(function.fields)
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, f in fields.items():
        t = _json_type(f)
        props[name] = {"type": [t, "null"] if not f.required else t} if t else {}
        if f.required:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


def credential_key(component: Component, cfg: Mapping[str, Any]) -> str:
    """A stable, non-reversible key for one credential set (rate limits and client pooling)."""
    names = sorted(component.model.credentials.fields) or sorted(cfg)
    raw = "\x1f".join(f"{n}={cfg.get(n)!r}" for n in names)
    return hashlib.sha256(f"{component.name}\x1f{raw}".encode()).hexdigest()[:24]


def _key_parts(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {k: hashlib.sha256(repr(v).encode()).hexdigest()[:16] for k, v in cfg.items() if v is not None}


class Context:
    """What a handler receives as ``ctx``: ``http``, ``cfg``, ``snapshot``, ``logger``, ``emit``."""

    def __init__(
        self,
        *,
        executor: Executor,
        component: Component,
        function: Function | None,
        cfg: dict[str, Any],
        http: HttpClient | None,
        snapshot: dict[str, Any],
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        emitter: Emit,
        msg: Message,
        dry_run: bool = False,
    ) -> None:
        self.executor = executor
        self.component = component
        self.function = function
        self.cfg = cfg
        self._http = http
        self.snapshot = snapshot
        self.logger = logger
        self._emitter = emitter
        self.msg = msg
        self.dry_run = dry_run
        self.emitted = 0
        self._out: SchemaValidator | None = None
        self._item_out: SchemaValidator | None = None
        if function is not None and executor.validate_output:
            # Compiled once per function (cached there): a Context is made for every message.
            self._out = function.out_validator
            self._item_out = function.record_validator

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            raise ConfigError(f"component {self.component.name!r} declares no 'http' block")
        return self._http

    def _check_output(self, body: Any, *, record: bool) -> None:
        validator = self._item_out if record and self._item_out is not None else self._out
        if validator is None or validator.is_valid(body):
            return
        path, message = validator.errors(body, root="output", limit=1)[0]
        name = self.function.name if self.function else "?"
        raise ComponentError(f"{name}: emitted data does not match the out-schema: {path}: {message}")

    async def emit(self, data: Any, *, record: bool = False, check: bool = True) -> None:
        """Emit one data message (a body, or a whole :class:`Message`).

        ``record``: the body is one record of a list (checked against the out-schema's items);
        ``check=False`` for wrappers such as ``{"results": [...]}`` whose records were checked.
        """
        msg = data if isinstance(data, Message) else Message(body=data)
        if check:
            self._check_output(msg.body, record=record)
        self.emitted += 1
        await self._emitter(Event("data", msg))

    async def emit_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        if not self.dry_run:
            await self._emitter(Event("snapshot", snapshot))

    async def update_snapshot(self, patch: dict[str, Any]) -> None:
        self.snapshot = {**self.snapshot, **patch}
        if not self.dry_run:
            await self._emitter(Event("updateSnapshot", patch))

    async def rebound(self, reason: str) -> None:
        await self._emitter(Event("rebound", reason))

    async def update_keys(self, keys: dict[str, Any]) -> None:
        await self._emitter(Event("updateKeys", keys))

    def render(self, value: Any, **extra: Any) -> Any:
        ctx = {"cfg": self.cfg, "body": self.msg.body, "msg": self.msg.to_dict(), "snapshot": self.snapshot}
        ctx.update(extra)
        return render(value, ctx)

    async def call(
        self,
        request: RequestSpec | Mapping[str, Any],
        *,
        pagination: PaginationSpec | Mapping[str, Any] | None = None,
        records_path: str | None = None,
        emit_behavior: EmitBehavior | None = None,
        max_pages: int | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        emit: bool = True,
        start: Mapping[str, Any] | None = None,
        one_page: bool = False,
    ) -> Any:
        """Run a declarative request (already rendered) and emit its result by ``emit_behavior``.

        This is the one engine behind declarative actions and the generic ``http`` component:
        pagination, records extraction, binary attachments and emit behaviour live here.
        With ``emit=False`` nothing is emitted and the records (or the body) are returned.
        ``start`` resumes paging there (see :func:`skiff.http.pagination.paginate`);
        ``one_page`` reads that one page only.
        """
        spec = request if isinstance(request, RequestSpec) else RequestSpec.model_validate(request)
        query = _clean(spec.query)
        headers = {k: str(v) for k, v in _clean(spec.headers).items()}
        json_body = _clean_body(spec.body)
        behavior: EmitBehavior = emit_behavior or "emitIndividually"
        envelope = self.http.spec.envelope
        default_records = envelope.dataPath if envelope else None

        if pagination is not None:
            pag = pagination if not isinstance(pagination, Mapping) else _PAGINATION.validate_python(pagination)
            if max_pages is not None:
                pag = pag.model_copy(update={"maxPages": max_pages})
            if records_path and not pag.recordsPath:
                pag = pag.model_copy(update={"recordsPath": records_path})
            elif not pag.recordsPath and default_records:
                pag = pag.model_copy(update={"recordsPath": default_records})
            collected: list[Any] = []
            pages = self.http.pages(
                spec.method, spec.path, pag, params=query, json=json_body, endpoint=endpoint, start=start
            )
            async with contextlib.aclosing(pages):
                async for page in pages:
                    if emit and behavior != "fetchAll":
                        # A page asked for by number is reported by that number.
                        number = int(start["page"]) if one_page and start and "page" in start else page.number
                        await self._emit_records(page.records, behavior, number)
                    else:
                        collected.extend(page.records)
                    if one_page:
                        break
            if not emit:
                return collected
            if behavior == "fetchAll":
                await self._emit_records(collected, behavior)
            return None

        response = await self.http.request(
            spec.method,
            spec.path,
            # None, not {}: an empty mapping still makes httpx re-parse the URL and merge headers.
            params=query or None,
            json=json_body,
            data=_clean(spec.form) if spec.form else None,
            headers=headers or None,
            idempotent=idempotent,
            endpoint=endpoint,
            response_type=spec.responseType,
        )
        body = _response_body(response)
        if records_path is not None and not isinstance(body, Message):  # "": the body is the list
            records = to_records(get_path(body, records_path) if records_path else body)
            if emit:
                await self._emit_records(records, behavior)
            return records
        if emit:
            # A binary answer is a whole Message (its attachment); a 204 emits {} so flows go on.
            await self.emit(body if body is not None else {}, check=not isinstance(body, Message))
        return body

    async def _emit_records(self, records: list[Any], behavior: EmitBehavior, page: int | None = None) -> None:
        """Records one message each, or checked one by one and wrapped as ``{"results": [...]}``."""
        if behavior == "emitIndividually":
            for rec in records:
                await self.emit(rec, record=True)
            return
        for rec in records:
            self._check_output(rec, record=True)
        wrapper: dict[str, Any] = {"results": records}
        if page is not None:
            wrapper["page"] = page
        await self.emit(wrapper, check=False)

    async def poll(self, spec: PollingSpec | Mapping[str, Any], *, template: bool = True) -> Any:
        """Run one poll of a polling spec (see :mod:`skiff.triggers`); returns its PollResult.

        ``template=False`` when the spec holds data (cfg values), not the author's templates.
        """
        from .triggers import run_poll

        return await run_poll(self, spec, template=template)


def _clean(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop query parameters and headers that rendered to nothing (optional inputs).

    A name ending in ``*`` spreads an object: ``"property*": {"18280": "x"}`` sends
    ``property18280=x`` (names that only the message knows, like Billomat's custom fields).
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


def _clean_body(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if v is not None}
    return body


def _response_body(response: Response) -> Any:
    ctype = response.content_type or ""
    if response.data is None and response.content and not ctype.startswith(("application/json", "text/")):
        att = response.attachment()
        name = _filename(response) or "response"
        return Message(
            body={"filename": name, "contentType": att.content_type, "size": att.size},
            attachments={name: att},
        )
    return response.data


def _filename(response: Response) -> str | None:
    disp = response.headers.get("content-disposition", "")
    for part in disp.split(";"):
        part = part.strip()
        if part.lower().startswith("filename="):
            return part.split("=", 1)[1].strip('"') or None
    return None


async def _drain(ctx: Context, result: Any) -> None:
    """Emit what a handler produced: a returned value, an awaitable, or an async generator's items."""
    if inspect.isawaitable(result):
        result = await result
    if inspect.isasyncgen(result):
        async for item in result:
            if item is not None:
                await ctx.emit(item)
    elif result is not None:
        await ctx.emit(result)


class Executor:
    """Runs calls; owns the pooled HTTP clients (one per credential set) and the rate limiter."""

    def __init__(
        self,
        *,
        validate_output: bool = True,
        limiter: Any = None,
        logger: logging.Logger | None = None,
        transport: Any = None,
    ) -> None:
        self.validate_output = validate_output
        # One limiter for every client of this executor: limits keyed by API key span users.
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.log = logger or log
        self._transport = transport
        self._clients: dict[str, HttpClient] = {}
        self._cfg_validators: dict[tuple[str, str], SchemaValidator] = {}

    # ------------------------------------------------------------ clients

    def http_spec(self, component: Component, cfg: Mapping[str, Any]) -> HttpSpec | None:
        spec = component.http
        if spec is None:
            return None
        ctx = {"cfg": cfg}
        where = f"{component.name}: http"
        raw = spec.model_dump(by_alias=True, exclude_none=True)
        rendered = render(raw, ctx, where=where)
        # A header that renders to nothing (an optional cfg field) is not sent at all.
        rendered["headers"] = {k: v for k, v in (rendered.get("headers") or {}).items() if v not in (None, "")}
        try:
            if isinstance(rendered.get("auth"), dict):
                rendered["auth"] = [rendered["auth"]]
            if isinstance(rendered.get("auth"), list):
                rendered["auth"] = _AUTH_LIST.validate_python(rendered["auth"])
            if isinstance(rendered.get("rateLimits"), list):
                rendered["rateLimits"] = _LIMIT_LIST.validate_python(rendered["rateLimits"])
            out = HttpSpec.model_validate(rendered)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("list[", "tagged-union")))
            raise ConfigError(f"cfg gives an invalid http setting {loc}: {err['msg']}", where=component.name) from None
        if not isinstance(out.baseUrl, str) or not out.baseUrl:
            raise ConfigError("cfg gives no base URL", where=component.name)
        return out

    def client(self, component: Component, cfg: Mapping[str, Any]) -> HttpClient | None:
        key = credential_key(component, cfg)
        client = self._clients.get(key)
        if client is not None:
            return client
        spec = self.http_spec(component, cfg)
        if spec is None:
            return None
        client = HttpClient(
            spec,
            credential_key=key,
            credentials=_key_parts(cfg),
            limiter=self.limiter,
            transport=self._transport,
            secrets=secrets_of(component, cfg),
        )
        self._clients[key] = client
        return client

    def http_stats(self) -> list[Any]:
        """Requests, retries, 429s and limiter waits of every pooled client."""
        return [client.stats for client in self._clients.values()]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------ checks

    def check_cfg(self, component: Component, function: Function | None, cfg: Any) -> dict[str, Any]:
        if not isinstance(cfg, dict):
            raise ConfigError("cfg must be a JSON object")
        key = (str(component.path), function.name if function else "")
        validator = self._cfg_validators.get(key)
        if validator is None:  # built once per function: this runs on every message
            validator = self._cfg_validators[key] = compile_schema(cfg_schema(component, function))
        if validator.is_valid(cfg):
            return cfg
        errors = validator.errors(cfg, root="cfg", limit=1)
        if errors:
            path, message = errors[0]
            raise ConfigError(f"{path}: {_hide(message, secrets_of(component, cfg))}")
        return cfg

    def check_input(self, function: Function, msg: Message) -> None:
        validator = function.in_validator
        if validator is None or validator.is_valid(msg.body):
            return
        errors = validator.errors(msg.body, root="body", limit=1)
        if errors:
            path, message = errors[0]
            raise InputError(f"{function.name}: {path}: {message}")

    # ------------------------------------------------------------ calls

    async def run(
        self,
        component: Component,
        function_name: str,
        cfg: Mapping[str, Any],
        msg: Message | None = None,
        *,
        snapshot: dict[str, Any] | None = None,
        emit: Emit | None = None,
        dry_run: bool = False,
        raise_errors: bool = False,
    ) -> RunResult:
        """Run one call. Errors become an ``error`` event and ``RunResult.error``."""
        started = time.monotonic()
        msg = msg or Message(body={})
        result = RunResult(snapshot=dict(snapshot or {}))
        sink = emit or _discard
        cfg = dict(cfg)
        secrets = secrets_of(component, cfg)

        async def counting(event: Event) -> None:
            if event.kind == "data":
                result.data += 1
            elif event.kind == "snapshot":
                result.snapshot = dict(event.payload)
            elif event.kind == "updateSnapshot":
                result.snapshot = {**(result.snapshot or {}), **event.payload}
            await sink(event)

        try:
            function = component.function(function_name)
            self.check_cfg(component, function, cfg)
            self.check_input(function, msg)
            ctx = Context(
                executor=self,
                component=component,
                function=function,
                cfg=cfg,
                http=self.client(component, cfg),
                snapshot=dict(snapshot or {}),
                logger=_RedactingAdapter(self.log, secrets),
                emitter=counting,
                msg=msg,
                dry_run=dry_run,
            )
            await self._dispatch(ctx, function, msg, cfg)
        except SkiffError as exc:
            err = _scrub(exc, secrets)
            result.error = err
            self.log.debug("call failed", exc_info=True)
            await sink(Event("error", {"error": err, "errorInput": msg}))
            if raise_errors:
                raise err from None
        except Exception as exc:
            err = ComponentError(_hide(f"{type(exc).__name__}: {exc}", secrets))
            result.error = err
            self.log.debug("handler crashed", exc_info=True)
            await sink(Event("error", {"error": err, "errorInput": msg}))
            if raise_errors:
                raise err from exc
        result.elapsed = time.monotonic() - started
        await sink(Event("end", None))
        return result

    async def _dispatch(self, ctx: Context, function: Function, msg: Message, cfg: dict[str, Any]) -> None:
        model = function.model
        if model.main:
            handler = function.handler()
            await _drain(ctx, handler(ctx, msg, cfg))
            return
        if model.polling is not None:
            await ctx.poll(model.polling)
            return
        if model.request is None:
            raise ConfigError(f"{function.name!r} has neither 'main' nor 'request'")
        body = msg.body if isinstance(msg.body, dict) else {}
        rendered = ctx.render(model.request.model_dump(by_alias=True, exclude_none=True))
        pagination = model.pagination
        behavior = body.get("emitBehavior") or model.emitBehavior
        max_pages = body.get("maxPages")
        # The message's own page/pageSize (skip/take, ...) ask for that one page only.
        asked = requested_page(pagination, body) if pagination is not None else None
        if asked is not None:
            pagination = asked[0]
        await ctx.call(
            rendered,
            pagination=pagination,
            records_path=model.recordsPath,
            emit_behavior=behavior,
            max_pages=int(max_pages) if max_pages else None,
            idempotent=model.idempotent,
            endpoint=model.rateLimitEndpoint or f"{model.request.method} {model.request.path}",
            start=asked[1] if asked is not None else None,
            one_page=asked is not None,
        )

    async def verify(self, component: Component, cfg: Mapping[str, Any]) -> dict[str, Any]:
        """verifyCredentials: ``{"verified": bool, "reason"?: str}``; never raises for bad credentials."""
        cfg = dict(cfg)
        secrets = secrets_of(component, cfg)
        try:
            self.check_cfg(component, None, cfg)
            spec = component.model.verifyCredentials
            ctx = self._service_ctx(component, cfg)
            if spec is None or (spec.request is None and spec.main is None):
                if component.http is None:
                    return {"verified": True}
                raise ConfigError("component declares no verifyCredentials")
            if spec.main:
                result = component.import_callable(spec.main, "verify")(ctx, cfg)
                if inspect.isawaitable(result):
                    result = await result
                return dict(result) if isinstance(result, dict) else {"verified": bool(result)}
            assert spec.request is not None
            rendered = ctx.render(spec.request.model_dump(by_alias=True, exclude_none=True))
            await ctx.call(rendered, emit=False)
            return {"verified": True}
        except (AuthError, ApiError) as exc:
            return {"verified": False, "reason": str(_scrub(exc, secrets))}

    async def select(
        self, component: Component, function_name: str | None, field_name: str, cfg: Mapping[str, Any]
    ) -> dict[str, str]:
        """The options ``{value: label}`` of a select field, from its ``model``."""
        cfg = dict(cfg)
        fields = dict(component.model.credentials.fields)
        function = component.function(function_name) if function_name else None
        if function is not None:
            fields.update(function.fields)
        f = fields.get(field_name)
        if f is None:
            raise ConfigError(f"no field {field_name!r}" + (f" in {function_name!r}" if function_name else ""))
        if isinstance(f.model, dict):
            return dict(f.model)
        if isinstance(f.model, list):  # elastic.io: a plain list of values
            return {str(v): str(v) for v in f.model}
        if not f.model:
            raise ConfigError(f"field {field_name!r} has no select model")
        spec = component.model.selectModels.get(f.model)
        if spec is None:
            raise ConfigError(f"field {field_name!r} names an unknown select model {f.model!r}")
        self.check_cfg(component, None, cfg)
        ctx = self._service_ctx(component, cfg)
        if spec.main:
            result = component.import_callable(spec.main, "process")(ctx, cfg)
            if inspect.isawaitable(result):
                result = await result
            return {str(k): str(v) for k, v in dict(result).items()}
        assert spec.request is not None
        rendered = ctx.render(spec.request.model_dump(by_alias=True, exclude_none=True))
        records = await ctx.call(rendered, records_path=spec.recordsPath, emit=False)
        if not spec.recordsPath:
            records = to_records(records)
        options: dict[str, str] = {}
        for rec in records:
            if isinstance(rec, dict):
                options[str(rec.get(spec.valueField))] = str(rec.get(spec.labelField))
            else:
                options[str(rec)] = str(rec)
        return options

    def _service_ctx(self, component: Component, cfg: dict[str, Any]) -> Context:
        return Context(
            executor=self,
            component=component,
            function=None,
            cfg=cfg,
            http=self.client(component, cfg),
            snapshot={},
            logger=_RedactingAdapter(self.log, secrets_of(component, cfg)),
            emitter=_discard,
            msg=Message(body={}),
        )


async def _discard(event: Event) -> None:
    return None


def _hide(text: str, secrets: list[str]) -> str:
    return redact(text, secrets) if secrets else text


def _scrub(err: SkiffError, secrets: list[str]) -> SkiffError:
    """Errors are shown to users: make certain no cfg secret is in the message."""
    if secrets:
        cleaned = redact(err.message, secrets)
        if cleaned != err.message:
            err.message = cleaned
            err.args = (cleaned,)
    return err


class _RedactingAdapter(logging.LoggerAdapter[logging.Logger]):
    """The handler's ``ctx.logger``: every message passes through redaction first."""

    def __init__(self, logger: logging.Logger, secrets: list[str]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        text = str(msg)
        if kwargs.get("args") is None and self._secrets:
            text = redact(text, self._secrets)
        return text, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            text, kwargs = self.process(text, kwargs)
            self.logger.log(level, text, **kwargs)
