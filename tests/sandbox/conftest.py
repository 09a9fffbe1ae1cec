"""A tiny vendor-like sandbox used to test the framework itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.sandbox import (
    Record,
    SandboxApp,
    SandboxServer,
    SlidingWindow,
    check_basic,
    paginate,
    read_json,
    serve,
)


def make_app(seed: int = 7) -> SandboxApp:
    def populate(app: SandboxApp) -> None:
        items = app.store.table("items", created_field="created", modified_field="modified")
        for _ in range(12):
            items.insert({"name": f"item-{app.rng.randint(1000, 9999)}"})

    def rate_limited(retry_after: float) -> Response:
        return JSONResponse(
            {"message": "slow down"},
            status_code=429,
            headers={"Retry-After": SlidingWindow.retry_after_header(retry_after)},
        )

    app = SandboxApp("toy", prefix="/api", seed=seed, populate=populate, rate_limited=rate_limited)
    limiter = app.add_limiter(SlidingWindow(3, 1.0))
    limiter.enabled = False

    @app.route("/items")
    async def list_items(request: Request) -> Response:
        if not check_basic(request, "user", "secret"):
            return JSONResponse({"message": "unauthorized"}, status_code=401)
        wait = limiter.hit("user")
        if wait is not None:
            return app.too_many_requests(wait)
        page = paginate(app.store.table("items").list(), int(request.query_params.get("page", "1")), 5)
        return JSONResponse({"items": page.items, "pages": page.total_pages, "total": page.total_rows})

    @app.route("/items/{id}", ["PUT"])
    async def put_item(request: Request) -> Response:
        body: Any = await read_json(request, {})
        record = app.store.table("items").update(request.path_params["id"], body)
        if record is None:
            return JSONResponse({"message": "not found"}, status_code=404)
        return JSONResponse(record)

    @app.seeder("items")
    def seed_items(count: int) -> list[Record]:
        table = app.store.table("items")
        return [table.insert({"name": "fresh"}) for _ in range(count)]

    app.options["limiter"] = limiter
    return app


@pytest.fixture
def toy_factory() -> Callable[..., SandboxApp]:
    return make_app


@pytest.fixture
def app() -> SandboxApp:
    return make_app()


@pytest.fixture
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=("user", "secret"), timeout=5) as c:
        yield c
