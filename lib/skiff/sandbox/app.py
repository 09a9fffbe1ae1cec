"""``SandboxApp``: a Starlette app with a store, faults, a request log and the ``/_sandbox/`` admin API."""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from .faults import Faults
from .helpers import InvalidJson, parse_bool, parse_datetime, read_json
from .log import RequestLog, mask_headers, mask_query
from .ratelimit import SlidingWindow
from .store import Clock, Record, Store, iso

__all__ = ["ADMIN_PREFIX", "TRANSPORT_SCOPE_KEY", "Handler", "SandboxApp", "Seeder"]

ADMIN_PREFIX = "/_sandbox"
# serve() puts the asyncio transport here so a "drop" fault can close the socket without a response.
TRANSPORT_SCOPE_KEY = "skiff.transport"

Handler = Callable[[Request], Awaitable[Response]]
Seeder = Callable[[int], Sequence[Record]]
ExceptionHandler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _default_rate_limited(retry_after: float) -> Response:
    return JSONResponse(
        {"error": "Too Many Requests"},
        status_code=429,
        headers={"Retry-After": SlidingWindow.retry_after_header(retry_after)},
    )


def _default_server_error(status: int) -> Response:
    return JSONResponse({"error": f"sandbox fault: HTTP {status}"}, status_code=status)


class SandboxApp:
    """A vendor sandbox: register routes under ``prefix``, seed data in ``populate``.

    The instance is itself the ASGI application (``asgi()`` returns it): the outermost layer
    applies faults and writes the request log, then Starlette routes the request.
    """

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        seed: int = 1,
        populate: Callable[[SandboxApp], None] | None = None,
        case_insensitive: bool = False,
        rate_limited: Callable[[float], Response] | None = None,
        server_error: Callable[[int], Response] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        clock: Clock | None = None,
        log_size: int = 10_000,
    ) -> None:
        self.name = name
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.seed = seed
        self.rng = random.Random(seed)
        self.case_insensitive = case_insensitive
        self.clock = clock or Clock()
        self._initial_frozen = self.clock.now() if self.clock.frozen else None
        self.store = Store(self.clock)
        self.faults = Faults.from_json({}, default_seed=seed)
        self.log = RequestLog(log_size)
        self.limiters: list[SlidingWindow] = []
        self.seeders: dict[str, Seeder] = {}
        self.options: dict[str, Any] = {}
        self.default_credentials: dict[str, str] = {}
        self._populate = populate
        self._on_reset: list[Callable[[], None]] = []
        self._rate_limited = rate_limited or _default_rate_limited
        self._server_error = server_error or _default_server_error
        self._started = time.monotonic()
        self._starlette = Starlette(routes=self._admin_routes(), exception_handlers=dict(exception_handlers or {}))
        if populate is not None:
            populate(self)

    # ------------------------------------------------------------------ building

    def route(
        self, path: str, methods: Sequence[str] = ("GET",), *, name: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator: ``@app.route("/orders/{id}", ["GET"])`` registers ``prefix + path``."""

        def register(handler: Handler) -> Handler:
            self.add_route(path, handler, methods, name=name)
            return handler

        return register

    def add_route(
        self,
        path: str,
        handler: Handler,
        methods: Sequence[str] = ("GET",),
        *,
        name: str | None = None,
        prefixed: bool = True,
    ) -> Route:
        """Register ``prefix + path`` (``prefixed=False``: ``path`` as is, e.g. a file download URL)."""
        route = Route((self.prefix if prefixed else "") + path, handler, methods=list(methods), name=name)
        if self.case_insensitive:
            # IIS-style servers match paths case-insensitively (as many .NET-hosted APIs do).
            route.path_regex = re.compile(route.path_regex.pattern, re.IGNORECASE)
        self._starlette.router.routes.append(route)
        return route

    def seeder(self, resource: str) -> Callable[[Seeder], Seeder]:
        """Decorator: a function ``(count) -> records`` that ``POST /_sandbox/seed`` calls."""

        def register(fn: Seeder) -> Seeder:
            self.seeders[resource] = fn
            return fn

        return register

    def add_limiter(self, window: SlidingWindow) -> SlidingWindow:
        """Track a limiter so ``reset`` clears it and ``rate_limits`` can switch it."""
        self.limiters.append(window)
        return window

    def set_populate(self, populate: Callable[[SandboxApp], None]) -> None:
        """Set the seeding function after construction (when it needs the app) and seed now."""
        self._populate = populate
        self.reset()

    def on_reset(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Register extra state to clear on reset (runs after ``populate``)."""
        self._on_reset.append(fn)
        return fn

    def too_many_requests(self, retry_after: float) -> Response:
        """The vendor's 429 (body and Retry-After), as given to the constructor."""
        return self._rate_limited(retry_after)

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Back to the seeded start: same data, no faults, empty log, fresh limiters, real clock."""
        self.clock.reset()
        if self._initial_frozen is not None:
            self.clock.freeze(self._initial_frozen)
        self.rng = random.Random(self.seed)
        self.store.reset()
        self.faults = Faults.from_json({}, default_seed=self.seed)
        self.log.clear()
        for limiter in self.limiters:
            limiter.reset()
        if self._populate is not None:
            self._populate(self)
        for fn in self._on_reset:
            fn()

    def seed_resource(self, resource: str, count: int) -> list[Record]:
        """Add ``count`` new records of ``resource`` (fresh timestamps), via its registered seeder."""
        if resource not in self.seeders:
            raise KeyError(resource)
        return list(self.seeders[resource](count))

    # ------------------------------------------------------------------ ASGI

    def asgi(self) -> SandboxApp:
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self._starlette(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[int] = [0]
        recorded = [False]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body") and not recorded[0]:
                # Logged before the last byte goes out: a client that has its answer finds it in the log.
                recorded[0] = True
                self._record(scope, status[0], started, decision)
            await send(message)

        faults = self.faults
        decision = "ok"
        if faults.active and faults.applies_to(scope["path"]):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            decision, fault_status = faults.decide()
            if decision == "drop":
                await self._drop(scope)
            elif decision == "error":
                response = self._server_error(fault_status)
                if faults.error_retry_after is not None:
                    # Whole seconds; 0 is a valid Retry-After ("now") and lets a test skip the backoff.
                    response.headers["Retry-After"] = str(math.ceil(faults.error_retry_after))
                await response(scope, receive, send_logged)
            elif decision == "429":
                await self.too_many_requests(faults.retry_after)(scope, receive, send_logged)
        if decision == "ok":
            await self._starlette(scope, receive, send_logged)
        if not recorded[0]:
            self._record(scope, status[0], started, decision)

    async def _drop(self, scope: Scope) -> None:
        transport = scope.get(TRANSPORT_SCOPE_KEY)
        if transport is None:
            # Not served by serve(): the best we can do is fail before any response byte.
            raise ConnectionAbortedError("sandbox fault: dropped connection")
        transport.close()
        # Let the server notice the disconnect, so it does not try to answer with a 500.
        for _ in range(3):
            await asyncio.sleep(0)

    def _record(self, scope: Scope, status: int, started: float, decision: str) -> None:
        raw_query = scope.get("query_string", b"").decode("latin-1")
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": mask_query(parse_qsl(raw_query, keep_blank_values=True)),
            "status": status or None,
            "time": iso(self.clock.now()),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "headers": mask_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
        }
        if decision != "ok":
            entry["fault"] = decision
        self.log.add(entry)

    # ------------------------------------------------------------------ admin API

    def _admin_routes(self) -> list[Route]:
        p = ADMIN_PREFIX
        return [
            Route(f"{p}/health", self._health, methods=["GET"]),
            Route(f"{p}/reset", self._reset, methods=["POST"]),
            Route(f"{p}/seed", self._seed, methods=["POST"]),
            Route(f"{p}/faults", self._faults, methods=["GET", "PUT"]),
            Route(f"{p}/requests", self._requests, methods=["GET", "DELETE"]),
            Route(f"{p}/clock", self._clock, methods=["GET", "PUT"]),
        ]

    @staticmethod
    def _bad(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def _health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "name": self.name,
                "prefix": self.prefix,
                "seed": self.seed,
                "now": iso(self.clock.now()),
                "uptime_s": round(time.monotonic() - self._started, 3),
                "counts": self.store.counts(),
                "seedable": sorted(self.seeders),
                "faults": self.faults.to_json(),
            }
        )

    async def _reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"status": "reset", "counts": self.store.counts()})

    async def _seed(self, request: Request) -> Response:
        try:
            body = await read_json(request, default={})
        except InvalidJson as exc:
            return self._bad(str(exc))
        if not isinstance(body, dict) or not isinstance(body.get("resource"), str):
            return self._bad('expected {"resource": name, "count": n}')
        resource, count = body["resource"], body.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100_000:
            return self._bad("count must be an integer between 1 and 100000")
        if resource not in self.seeders:
            known = ", ".join(sorted(self.seeders)) or "none"
            return self._bad(f"unknown resource {resource!r}; seedable: {known}", 404)
        records = self.seed_resource(resource, count)
        # The id field of the table named like the resource, else a common spelling.
        table = self.store.tables.get(resource)
        fields = [table.id_field] if table is not None else ["id", "Id", "ID"]
        ids = [next((r[f] for f in fields if f in r), None) for r in records]
        return JSONResponse({"resource": resource, "count": len(records), "ids": ids})

    async def _faults(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = await read_json(request, default={})
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object of fault settings")
                self.faults = Faults.from_json(body, default_seed=self.seed)
            except (ValueError, TypeError, re.error) as exc:
                return self._bad(str(exc))
        return JSONResponse(self.faults.to_json())

    async def _requests(self, request: Request) -> Response:
        entries = self.log.entries()
        try:
            clear = request.method == "DELETE" or bool(parse_bool(request.query_params.get("clear"), False))
            limit = int(request.query_params.get("limit", "0") or 0)
        except ValueError as exc:
            return self._bad(str(exc))
        if clear:
            self.log.clear()
        if limit > 0:
            entries = entries[-limit:]
        return JSONResponse({"count": len(entries), "requests": entries})

    async def _clock(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = await read_json(request, default={})
                if not isinstance(body, dict):
                    raise ValueError('expected {"now": iso, "advance": seconds, "frozen": bool}')
                if body.get("now"):
                    self.clock.set(parse_datetime(str(body["now"])))
                if body.get("advance"):
                    self.clock.advance(float(body["advance"]))
                if body.get("frozen") is True:
                    self.clock.freeze()
                elif body.get("frozen") is False:
                    self.clock.unfreeze()
            except (ValueError, TypeError) as exc:
                return self._bad(str(exc))
        now: datetime = self.clock.now()
        return JSONResponse({"now": iso(now), "frozen": self.clock.frozen})
