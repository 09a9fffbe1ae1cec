"""``Executor``: one call through one pipeline, whatever the transport.

check cfg → check the body against the in-schema → run the handler (or the declarative
request or polling spec) → check each output against the out-schema → emit typed events
(:mod:`skiff.run.events`), always ending with ``End``. Errors become an ``Error`` event with
every cfg secret scrubbed. The executor owns the pooled HTTP clients and the rate limiter.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..clock import SYSTEM_CLOCK, Clock
from ..component import Component, Function
from ..component.handlers import HookKind
from ..errors import ApiError, AuthError, ComponentError, ConfigError, SkiffError
from ..http import HttpClient, HttpStats, RateLimiter
from ..http.bodies import to_records
from ..http.client import DEFAULT_TOTAL_TIMEOUT
from ..http.paging import requested_page
from ..http.redact import redact
from ..message import Message
from ..specs import HttpSpec
from .checks import CfgChecker, check_input
from .clients import ClientPool, http_spec, secrets_of
from .context import Context
from .events import Emit, End, Error, Event, Records
from .logger import RedactingLogger

__all__ = ["Executor", "RunResult"]

log = logging.getLogger("skiff.executor")


@dataclass(slots=True)
class RunResult:
    """What one call did: data messages emitted, the error (if any), the snapshot it ended with."""

    data: int = 0
    error: SkiffError | None = None
    snapshot: dict[str, Any] | None = None
    elapsed: float = 0.0

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0


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


class _ReaderGone(BaseException):
    """The caller's emit hit a closed pipe (``skiff run ... | head -1``): not the component's error.

    A BaseException, so that no handler's ``except Exception`` takes it for its own failure;
    ``run`` raises the original ``BrokenPipeError`` to its caller.
    """

    def __init__(self, error: BrokenPipeError) -> None:
        super().__init__(str(error))
        self.error = error


class Executor:
    """Runs calls; owns the pooled HTTP clients (one per credential set) and the rate limiter."""

    def __init__(
        self,
        *,
        validate_output: bool = True,
        limiter: RateLimiter | None = None,
        logger: logging.Logger | None = None,
        transport: Any = None,
        unknown_cfg: Literal["error", "ignore"] = "error",
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = DEFAULT_TOTAL_TIMEOUT,
    ) -> None:
        """``clock``: time for retries, token expiry, deadlines and a poll's "now" (tests pass a ManualClock);
        ``timeout``: seconds one HTTP request may take with all its attempts and waits."""
        self.validate_output = validate_output
        self.log = logger or log
        self.clock = clock
        self._pool = ClientPool(limiter=limiter, transport=transport, clock=clock, timeout=timeout)
        # A cfg key that no credential or function field declares is a typo (``baseURL``) that
        # would otherwise be ignored silently; "ignore" is for hosts that add keys of their own.
        self._cfg = CfgChecker(unknown=unknown_cfg)

    @property
    def limiter(self) -> RateLimiter:
        return self._pool.limiter

    # ------------------------------------------------------------ clients

    def http_spec(self, component: Component, cfg: Mapping[str, Any]) -> HttpSpec | None:
        return http_spec(component, cfg)

    def client(self, component: Component, cfg: Mapping[str, Any]) -> HttpClient | None:
        return self._pool.client(component, cfg)

    def http_stats(self) -> list[HttpStats]:
        """Requests, retries, 429s and limiter waits of every pooled client."""
        return self._pool.stats()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------ checks

    def check_cfg(self, component: Component, function: Function | None, cfg: Any) -> dict[str, Any]:
        secrets = secrets_of(component, cfg) if isinstance(cfg, dict) else []
        return self._cfg.check(component, function, cfg, secrets=secrets)

    def check_input(self, function: Function, msg: Message) -> None:
        check_input(function, msg)

    def context(
        self,
        component: Component,
        function: Function | None,
        cfg: dict[str, Any],
        *,
        msg: Message | None = None,
        snapshot: dict[str, Any] | None = None,
        emit: Emit | None = None,
        dry_run: bool = False,
        raw_records: bool = False,
    ) -> Context:
        """A handler context for ``cfg`` (the HTTP client comes from the pool)."""
        return Context(
            component=component,
            function=function,
            cfg=cfg,
            http=self.client(component, cfg),
            snapshot=dict(snapshot or {}),
            logger=RedactingLogger(self.log, secrets_of(component, cfg)),
            emitter=emit or _discard,
            msg=msg or Message(body={}),
            dry_run=dry_run,
            validate_output=self.validate_output,
            raw_records=raw_records,
            clock=self.clock,
        )

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
        raw_records: bool = False,
    ) -> RunResult:
        """Run one call. Errors become an ``Error`` event and ``RunResult.error``; ``End`` is last.

        ``raw_records``: ``emit`` takes :class:`~skiff.run.events.Records` (see there).
        """
        started = self.clock.monotonic()
        msg = msg or Message(body={})
        result = RunResult(snapshot=dict(snapshot or {}))
        sink = emit or _discard
        cfg = dict(cfg)
        secrets = secrets_of(component, cfg)

        async def counting(event: Event) -> None:
            if event.kind == "data":
                result.data += len(event.records) if isinstance(event, Records) else 1
            elif event.kind == "snapshot":
                result.snapshot = dict(event.payload)
            elif event.kind == "updateSnapshot":
                result.snapshot = {**(result.snapshot or {}), **event.payload}
            try:
                await sink(event)
            except BrokenPipeError as exc:
                raise _ReaderGone(exc) from exc

        try:
            function = component.function(function_name)
            self.check_cfg(component, function, cfg)
            self.check_input(function, msg)
            ctx = self.context(
                component,
                function,
                cfg,
                msg=msg,
                snapshot=snapshot,
                emit=counting,
                dry_run=dry_run,
                raw_records=raw_records,
            )
            await self._dispatch(ctx, function, msg, cfg)
        except _ReaderGone as gone:
            raise gone.error from None
        except SkiffError as exc:
            err = _scrub(exc, secrets)
            result.error = err
            self.log.debug("call failed", exc_info=True)
            await sink(Error(err, msg))
            if raise_errors:
                raise err from None
        except Exception as exc:
            err = ComponentError(_hide(f"{type(exc).__name__}: {exc}", secrets))
            result.error = err
            self.log.debug("handler crashed", exc_info=True)
            await sink(Error(err, msg))
            if raise_errors:
                raise err from exc
        result.elapsed = self.clock.monotonic() - started
        await sink(End())
        return result

    async def hook(
        self, component: Component, function: Function, kind: HookKind, cfg: Mapping[str, Any], *args: Any
    ) -> Any:
        """Call ``function``'s ``init``, ``startup`` or ``shutdown`` hook with a context for ``cfg``.

        Returns what the hook returns (None when ``main`` defines none). Its errors are shown to
        users as any call's: a SkiffError scrubbed of cfg secrets, anything else a ComponentError.
        """
        cfg = dict(cfg)
        secrets = secrets_of(component, cfg)
        try:
            hook = function.hook(kind)
            if hook is None:
                return None
            result = hook(self.context(component, function, cfg), cfg, *args)
            return await result if inspect.isawaitable(result) else result
        except SkiffError as exc:
            raise _scrub(exc, secrets) from None
        except Exception as exc:
            self.log.debug("%s hook crashed", kind, exc_info=True)
            raise ComponentError(_hide(f"{type(exc).__name__}: {exc}", secrets)) from exc

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
        max_pages = body.get("maxPages")
        pagination = model.pagination
        # The message's own page/pageSize (skip/take, ...) ask for that one page only.
        asked = requested_page(pagination, body) if pagination is not None else None
        if asked is not None:
            pagination = asked[0]
        await ctx.call(
            rendered,
            pagination=pagination,
            records_path=model.recordsPath,
            emit_behavior=body.get("emitBehavior") or model.emitBehavior,
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
            ctx = self.context(component, None, cfg)
            if spec is None or (spec.request is None and spec.main is None):
                if component.http is None:
                    return {"verified": True}
                raise ConfigError("component declares no verifyCredentials")
            if spec.main:
                result = component.handler(spec.main, "verify")(ctx, cfg)
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
        ctx = self.context(component, None, cfg)
        if spec.main:
            result = component.handler(spec.main, "select")(ctx, cfg)
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
