"""Local stand-ins for vendor APIs: the framework every ``components/<name>/sandbox/app.py`` builds on.

A sandbox behaves like the real API as its docs describe it (auth, envelopes, error bodies,
paging, 429s), serves deterministic seeded data, and has switchable faults and an admin API
under ``/_sandbox/`` (no auth): ``POST reset``, ``POST seed {"resource", "count"}``,
``GET|PUT faults``, ``GET requests`` (``?clear=1``, ``?limit=N``; ``DELETE`` clears),
``GET|PUT clock {"now", "advance", "frozen"}``, ``GET health``.

Writing a vendor sandbox (``components/acme/sandbox/app.py``)::

    from skiff.sandbox import SandboxApp, SlidingWindow, check_basic, paginate, read_json
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    PREFIX = "/api/v1"
    DEFAULT_CREDENTIALS = {"apiKey": "sandbox-api-key"}   # what `skiff sandbox` prints / demos use

    def create_app(seed: int = 1, api_key: str = "sandbox-api-key", rate_limits: bool = True) -> SandboxApp:
        def populate(app: SandboxApp) -> None:          # runs now and on every POST /_sandbox/reset
            customers = app.store.table("customers", id_field="id",
                                        created_field="created", modified_field="updated")
            for _ in range(20):                           # app.rng is random.Random(seed): deterministic
                customers.insert({"name": app.rng.choice(["Ada", "Linus"])})

        app = SandboxApp("acme", prefix=PREFIX, seed=seed, populate=populate,
                         case_insensitive=False,          # True for IIS-like APIs
                         rate_limited=lambda s: JSONResponse(  # the vendor's own 429
                             {"error": "slow down"}, 429,
                             {"Retry-After": SlidingWindow.retry_after_header(s)}))
        limit = app.add_limiter(SlidingWindow(10, 1.0))    # reset() clears it
        limit.enabled = rate_limits

        @app.route("/customers", ["GET"])                  # registered as PREFIX + path
        async def list_customers(request: Request) -> Response:
            if request.headers.get("x-api-key") != api_key:
                return JSONResponse({"error": "unauthorized"}, 401)
            wait = limit.hit(api_key)                      # None, or seconds until allowed
            if wait is not None:
                return app.too_many_requests(wait)
            page = paginate(app.store.table("customers").list(), 1, 50)
            return JSONResponse({"items": page.items, "total": page.total_rows})

        @app.seeder("customers")                           # POST /_sandbox/seed {"resource": "customers"}
        def seed_customers(count: int) -> list[dict]:
            table = app.store.table("customers")
            return [table.insert({"name": "New"}) for _ in range(count)]   # fresh timestamps

        return app

Rules of thumb: keep ids ascending (``Table`` assigns them), change records through
``Table.update``/``touch`` so modification times move, validate a request fully before
changing the store (a bad request changes nothing), answer with the vendor's own error shape,
and take "now" from ``app.clock`` (tests advance or freeze it). Helper modules next to
``app.py`` may be imported relatively (``from .data import ...``): ``load_sandbox`` imports
the folder as a package. Run one with ``serve(load_sandbox("acme"))`` (a context manager with
``.url``, ``.base_url``, ``.port``, ``.stop()``).

Also useful: ``app.set_populate(fn)`` when the seeding function needs objects built after the
app; ``app.add_route(path, handler, methods, prefixed=False)`` for URLs outside the vendor
prefix (e.g. document downloads); ``app.on_reset(fn)`` for extra state; ``query_list(request,
"state")`` reads ``state``, ``state[]`` and ``state[0]`` alike; faults are ``latency_ms``,
``error_rate`` (with ``error_statuses`` and ``error_retry_after``), ``drop_rate`` (socket closed, no response; needs
``serve``), ``burst_429`` (+ ``retry_after``) and ``paths`` (a regex); a test may replace a
``SlidingWindow``'s ``now`` to stop depending on real time.
"""

from __future__ import annotations

from .app import ADMIN_PREFIX, Handler, SandboxApp, Seeder
from .faults import Faults
from .helpers import (
    InvalidJson,
    PageSlice,
    basic_credentials,
    check_basic,
    header_matches,
    in_range,
    paginate,
    parse_bool,
    parse_datetime,
    query_list,
    read_json,
    secure_equals,
)
from .loader import import_sandbox_module, list_sandboxes, load_sandbox, sandbox_folders
from .log import MASK, RequestLog, mask_headers, mask_query
from .pdf import make_pdf
from .ratelimit import SlidingWindow
from .server import SandboxServer, serve
from .store import Clock, Record, Store, Table, iso

__all__ = [
    "ADMIN_PREFIX",
    "MASK",
    "Clock",
    "Faults",
    "Handler",
    "InvalidJson",
    "PageSlice",
    "Record",
    "RequestLog",
    "SandboxApp",
    "SandboxServer",
    "Seeder",
    "SlidingWindow",
    "Store",
    "Table",
    "basic_credentials",
    "check_basic",
    "header_matches",
    "import_sandbox_module",
    "in_range",
    "iso",
    "list_sandboxes",
    "load_sandbox",
    "make_pdf",
    "mask_headers",
    "mask_query",
    "paginate",
    "parse_bool",
    "parse_datetime",
    "query_list",
    "read_json",
    "sandbox_folders",
    "secure_equals",
    "serve",
]
