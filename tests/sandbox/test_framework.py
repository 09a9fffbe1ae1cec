from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from skiff.sandbox import (
    Clock,
    Record,
    SandboxApp,
    SandboxServer,
    SlidingWindow,
    Store,
    in_range,
    load_sandbox,
    mask_headers,
    mask_query,
    paginate,
    parse_datetime,
    serve,
)


def test_seeded_data_is_deterministic(toy_factory: Callable[..., SandboxApp]) -> None:
    a, b, c = toy_factory(seed=7), toy_factory(seed=7), toy_factory(seed=8)
    names = [[r["name"] for r in x.store.table("items").list()] for x in (a, b, c)]
    assert names[0] == names[1]
    assert names[0] != names[2]
    assert [r["id"] for r in a.store.table("items").list()] == list(range(1, 13))


def test_store_crud_and_timestamps() -> None:
    clock = Clock(frozen_at=datetime(2024, 1, 1, tzinfo=UTC))
    table = Store(clock).table("t", id_field="Id", start_id=100, modified_field="Modified")
    rec = table.insert({"x": 1})
    assert rec["Id"] == 100 and rec["Modified"] == "2024-01-01T00:00:00.000Z"
    clock.advance(90)
    assert table.update("100", x=2) is rec
    assert rec["x"] == 2 and rec["Modified"] == "2024-01-01T00:01:30.000Z"
    assert table.insert({"Id": 500})["Id"] == 500 and table.insert({})["Id"] == 501
    assert [r["Id"] for r in table.list(lambda r: r["Id"] > 100)] == [500, 501]
    assert table.list(x=2) == [rec]
    assert table.delete(100) is rec and table.get(100) is None and table.update(100) is None


def test_clock_real_time_advances() -> None:
    clock = Clock()
    before = clock.now()
    clock.advance(3600)
    assert clock.now() - before >= timedelta(seconds=3599)
    frozen = clock.freeze()
    time.sleep(0.01)
    assert clock.now() == frozen
    clock.unfreeze()
    assert clock.now() >= frozen


def test_paginate_and_helpers() -> None:
    page = paginate(list(range(11)), 3, 5)
    assert (page.items, page.total_pages, page.total_rows) == ([10], 3, 11)
    assert paginate([], 1, 50).total_pages == 0
    assert paginate(list(range(3)), 9, 2).items == []
    assert parse_datetime("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_datetime("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_datetime("2024-05-01T12:00:00.1234567+02:00").hour == 10
    assert in_range(5, 1, 5) and not in_range(5, 1, 5, inclusive_high=False) and not in_range(None, 1)


def test_sliding_window() -> None:
    now = [0.0]
    window = SlidingWindow(2, 1.0, now=lambda: now[0])
    assert window.hit("a") is None and window.hit("a") is None
    wait = window.hit("a")
    assert wait == pytest.approx(1.0)
    assert window.hit("b") is None  # keys are independent
    now[0] = 0.5
    assert window.hit("a") == pytest.approx(0.5)
    now[0] = 1.01
    assert window.hit("a") is None
    assert SlidingWindow.retry_after_header(0.2) == "1" and SlidingWindow.retry_after_header(2.1) == "3"
    window.enabled = False
    assert all(window.hit("a") is None for _ in range(10))


def test_masking() -> None:
    headers = mask_headers(
        [("Authorization", "Basic dXNlcjpzZWNyZXQ="), ("X-Billbee-Api-Key", "k"), ("Accept", "json")]
    )
    assert headers == {"authorization": "Basic ***", "x-billbee-api-key": "***", "accept": "json"}
    query = mask_query([("api_key", "s"), ("page", "1"), ("page", "2")])
    assert query == {"api_key": "***", "page": ["1", "2"]}


def test_routes_prefix_and_log(client: httpx.Client, server: SandboxServer) -> None:
    assert server.base_url == server.url + "/api"
    r = client.get("/api/items", params={"page": 3, "api_key": "hush"}, headers={"X-Api-Key": "hush"})
    assert r.status_code == 200 and r.json()["total"] == 12 and len(r.json()["items"]) == 2
    assert client.get("/api/items", auth=("user", "wrong")).status_code == 401
    log = client.get("/_sandbox/requests").json()
    assert log["count"] == 2
    first = log["requests"][0]
    assert first["method"] == "GET" and first["path"] == "/api/items" and first["status"] == 200
    assert first["query"] == {"page": "3", "api_key": "***"}
    assert first["headers"]["authorization"] == "Basic ***" and first["headers"]["x-api-key"] == "***"
    assert "hush" not in str(log) and "c2VjcmV0" not in str(log)
    assert client.get("/_sandbox/requests", params={"clear": 1}).json()["count"] == 2
    assert client.get("/_sandbox/requests").json()["count"] == 0


def test_reset_seed_and_health(client: httpx.Client, app: SandboxApp) -> None:
    before = client.get("/api/items", params={"page": 1}).json()["items"]
    assert client.put("/api/items/1", json={"name": "changed"}).json()["name"] == "changed"
    seeded = client.post("/_sandbox/seed", json={"resource": "items", "count": 3}).json()
    assert seeded == {"resource": "items", "count": 3, "ids": [13, 14, 15]}
    newest = app.store.table("items").get(15)
    assert newest is not None and newest["modified"] >= before[-1]["modified"]
    health = client.get("/_sandbox/health").json()
    assert health["status"] == "ok" and health["counts"] == {"items": 15} and health["seedable"] == ["items"]
    assert client.post("/_sandbox/seed", json={"resource": "nope"}).status_code == 404
    assert client.post("/_sandbox/seed", json={"resource": "items", "count": 0}).status_code == 400
    assert client.post("/_sandbox/reset").json()["counts"] == {"items": 12}
    after = client.get("/api/items", params={"page": 1}).json()["items"]
    assert [r["name"] for r in after] == [r["name"] for r in before]


def test_clock_admin(client: httpx.Client, app: SandboxApp) -> None:
    r = client.put("/_sandbox/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True}).json()
    assert r == {"now": "2030-01-01T00:00:00.000Z", "frozen": True}
    assert client.put("/_sandbox/clock", json={"advance": 60}).json()["now"] == "2030-01-01T00:01:00.000Z"
    assert app.store.table("items").insert({})["created"] == "2030-01-01T00:01:00.000Z"


def test_faults_burst_429_and_errors(client: httpx.Client) -> None:
    assert client.put("/_sandbox/faults", json={"burst_429": 2, "retry_after": 3}).status_code == 200
    statuses = [client.get("/api/items") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "3" and statuses[0].json() == {"message": "slow down"}
    client.put("/_sandbox/faults", json={"error_rate": 1.0, "error_statuses": [503]})
    assert client.get("/api/items").status_code == 503
    assert client.get("/_sandbox/health").status_code == 200  # admin is never faulted
    client.put("/_sandbox/faults", json={"error_rate": 1.0, "paths": "^/api/other"})
    assert client.get("/api/items").status_code == 200
    assert client.put("/_sandbox/faults", json={"eror_rate": 1}).status_code == 400
    assert client.put("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert client.put("/_sandbox/faults", json={}).json()["error_rate"] == 0


def test_error_faults_may_say_when_to_retry(client: httpx.Client) -> None:
    client.put("/_sandbox/faults", json={"error_rate": 1.0, "error_statuses": [503]})
    assert "Retry-After" not in client.get("/api/items").headers  # none unless asked for
    for seconds, header in ((0, "0"), (2.5, "3")):
        client.put("/_sandbox/faults", json={"error_rate": 1.0, "error_statuses": [503], "error_retry_after": seconds})
        answer = client.get("/api/items")
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, header)
    assert client.put("/_sandbox/faults", json={"error_retry_after": -1}).status_code == 400


def test_faults_are_deterministic(client: httpx.Client) -> None:
    def run() -> list[int]:
        client.put("/_sandbox/faults", json={"error_rate": 0.5})
        return [client.get("/api/items").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second and 200 in first and any(s >= 500 for s in first)


def test_drop_closes_connection_without_response(client: httpx.Client) -> None:
    client.put("/_sandbox/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/api/items")
    client.put("/_sandbox/faults", json={})
    assert client.get("/api/items").status_code == 200
    entries = client.get("/_sandbox/requests").json()["requests"]
    assert entries[0]["fault"] == "drop" and entries[0]["status"] is None


def test_latency(client: httpx.Client) -> None:
    client.put("/_sandbox/faults", json={"latency_ms": 150})
    started = time.perf_counter()
    assert client.get("/api/items").status_code == 200
    assert time.perf_counter() - started >= 0.1


def test_rate_limiter_in_a_vendor_route(client: httpx.Client, app: SandboxApp) -> None:
    app.options["limiter"].enabled = True
    statuses = [client.get("/api/items").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
    client.post("/_sandbox/reset")  # clears the limiter's history
    assert client.get("/api/items").status_code == 200


def test_load_sandbox_by_path(tmp_path: Path) -> None:
    folder = tmp_path / "acme" / "sandbox"
    folder.mkdir(parents=True)
    (folder / "data.py").write_text("NAMES = ['a', 'b']\n")
    (folder / "app.py").write_text(
        "from skiff.sandbox import SandboxApp\n"
        "from .data import NAMES\n"
        "PREFIX = '/v1'\n"
        "DEFAULT_CREDENTIALS = {'token': 't'}\n"
        "def create_app(seed=1, **options):\n"
        "    app = SandboxApp('acme', prefix=PREFIX, seed=seed)\n"
        "    app.options.update(options, names=NAMES)\n"
        "    return app\n"
    )
    app = load_sandbox(folder.parent, seed=3, flag=True)
    assert app.name == "acme" and app.seed == 3 and app.prefix == "/v1"
    assert app.options == {"flag": True, "names": ["a", "b"]}
    assert app.default_credentials == {"token": "t"}
    with pytest.raises(FileNotFoundError):
        load_sandbox("no-such-vendor")
    with serve(app) as running:
        assert httpx.get(running.url + "/_sandbox/health").json()["name"] == "acme"
        assert httpx.get(running.url + "/v1/unknown").status_code == 404


def test_query_list_forms_and_unprefixed_routes() -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    from skiff.sandbox import query_list

    app = SandboxApp("forms", prefix="/v1", case_insensitive=True)

    async def echo(request: Request) -> Response:
        return JSONResponse(query_list(request, "state"))

    async def files(request: Request) -> Response:
        return Response(b"file", media_type="text/plain")

    app.add_route("/Echo", echo)
    app.add_route("/files/x", files, prefixed=False)
    populated: list[int] = []
    app.set_populate(lambda a: populated.append(a.seed))
    assert populated == [1]
    with serve(app) as running, httpx.Client(base_url=running.url) as c:
        query = "state=1&State=2&state[]=3&state[0]=4&state[x]=5&states=6"
        assert c.get(f"/v1/echo?{query}").json() == ["1", "2", "3", "4"]
        assert c.get("/files/x").text == "file"
        c.post("/_sandbox/reset")
    assert populated == [1, 1]


def test_seed_reports_ids_of_the_resource_table() -> None:
    app = SandboxApp("ids")
    table = app.store.table("orders", id_field="OrderKey", start_id=500)

    @app.seeder("orders")
    def seed(count: int) -> list[Record]:
        return [table.insert({"Id": "external"}) for _ in range(count)]

    with serve(app) as running:
        body = httpx.post(running.url + "/_sandbox/seed", json={"resource": "orders", "count": 2}).json()
    assert body["ids"] == [500, 501]
