"""skiff.http.client against a real server: bodies, envelopes, errors, logging, stats."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skiff.errors import ApiError, AuthError, ConfigError, RateLimited, TransientError
from skiff.http import HttpClient, TransientApiError
from skiff.specs import ApiKeyAuth, BasicAuth, EnvelopeSpec, HttpSpec, RetrySpec

if TYPE_CHECKING:
    from conftest import LiveServer

API_KEY = "billbee-api-key-1234567"
PASSWORD = "api-pa55word-abcdef"
QUERY_KEY = "query-key-zyxw9876"

NO_RETRY = RetrySpec(maxAttempts=1)


def spec(url: str, **kw: Any) -> HttpSpec:
    return HttpSpec(baseUrl=url, **kw)


def xml(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/xml")


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "query": dict(request.query_params),
            "accept": request.headers.get("accept"),
            "body": body.decode(),
            "ctype": request.headers.get("content-type"),
        }
    )


async def test_json_request_and_params(live: Callable[..., LiveServer]) -> None:
    server = live([Route("/api/v1/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
    async with HttpClient(spec(server.url + "/api/v1")) as client:
        got = await client.get("/echo", params={"a": 1, "skip": None, "flag": True})
        assert got["query"] == {"a": "1", "flag": "true"}
        assert got["accept"] == "application/json"
        posted = await client.post("/echo", json={"x": [1, 2]})
        assert posted["method"] == "POST" and posted["body"] == '{"x":[1,2]}'
        form = await client.put("/echo", data={"a": "b"})
        assert form["ctype"] == "application/x-www-form-urlencoded"
        assert (await client.patch("/echo"))["method"] == "PATCH"
        assert (await client.delete("/echo"))["method"] == "DELETE"
        assert client.stats.requests == 5


async def test_xml_response_parsed_and_accept_sent(live: Callable[..., LiveServer]) -> None:
    async def clients(request: Request) -> Response:
        assert request.headers["accept"] == "application/xml"
        return xml('<?xml version="1.0"?><clients total="1"><client><id>7</id><name>Ada</name></client></clients>')

    server = live([Route("/clients", clients)])
    async with HttpClient(spec(server.url, accept="xml")) as client:
        response = await client.request("GET", "/clients")
        assert response.data == {"clients": {"@total": "1", "client": {"id": "7", "name": "Ada"}}}


async def test_binary_response_becomes_attachment(live: Callable[..., LiveServer]) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4

    async def download(request: Request) -> Response:
        return Response(pdf, media_type="application/pdf")

    server = live([Route("/invoices/1/pdf", download)])
    async with HttpClient(spec(server.url)) as client:
        response = await client.request("GET", "/invoices/1/pdf", response_type="binary")
        assert response.data is None
        attachment = response.attachment()
        assert attachment.content == pdf
        assert attachment.size == len(pdf)
        assert attachment.content_type == "application/pdf"
        # auto detects binary too
        assert (await client.request("GET", "/invoices/1/pdf")).content == pdf


async def test_envelope_unwrapped_and_error_code_raised(live: Callable[..., LiveServer]) -> None:
    async def order(request: Request) -> JSONResponse:
        if request.path_params["id"] == "1":
            return JSONResponse({"ErrorMessage": None, "ErrorCode": 0, "Data": {"BillBeeOrderId": 1}})
        return JSONResponse({"ErrorMessage": "Order not found", "ErrorCode": 2, "Data": None})

    server = live([Route("/orders/{id}", order)])
    envelope = EnvelopeSpec(dataPath="Data", errorCodePath="ErrorCode", errorMessagePath="ErrorMessage")
    async with HttpClient(spec(server.url, envelope=envelope)) as client:
        response = await client.request("GET", "/orders/1")
        assert response.data == {"BillBeeOrderId": 1}
        assert response.raw["ErrorCode"] == 0
        with pytest.raises(ApiError) as info:
            await client.get("/orders/2")
        assert str(info.value) == "GET /orders/2: Order not found (code 2)"
        assert info.value.code == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"ErrorMessage": "Invalid data", "ErrorCode": 11, "Data": None},
            "POST /orders: 400 Bad Request: Invalid data (code 11)",
        ),
        (
            {"errorCode": 99404, "errorMessage": "entity not found"},
            "POST /orders: 400 Bad Request: entity not found (code 99404)",
        ),
        ({"errors": {"error": "Client not found"}}, "POST /orders: 400 Bad Request: Client not found"),
        (
            {"errors": {"error": ["a missing", "b wrong"]}},
            "POST /orders: 400 Bad Request: a missing; b wrong",
        ),
        ({"message": "nope"}, "POST /orders: 400 Bad Request: nope"),
        ({}, "POST /orders: 400 Bad Request"),
    ],
)
async def test_vendor_error_bodies(live: Callable[..., LiveServer], body: Any, expected: str) -> None:
    async def fail(request: Request) -> JSONResponse:
        return JSONResponse(body, status_code=400)

    server = live([Route("/orders", fail, methods=["POST"])])
    async with HttpClient(spec(server.url)) as client:
        with pytest.raises(ApiError) as info:
            await client.post("/orders", json={})
        assert str(info.value) == expected
        assert info.value.status == 400


async def test_billomat_xml_error_body(live: Callable[..., LiveServer]) -> None:
    async def fail(request: Request) -> Response:
        return xml("<errors><error>Unknown client</error></errors>", status=404)

    server = live([Route("/clients/9", fail)])
    async with HttpClient(spec(server.url, accept="xml")) as client:
        with pytest.raises(ApiError, match=r"^GET /clients/9: 404 Not Found: Unknown client$"):
            await client.get("/clients/9")


async def test_html_error_page_is_one_line(live: Callable[..., LiveServer]) -> None:
    page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"

    async def gateway(request: Request) -> Response:
        return Response(page, status_code=int(request.query_params.get("s", "502")), media_type="text/html")

    server = live([Route("/orders", gateway)])
    async with HttpClient(spec(server.url, retry=NO_RETRY)) as client:
        with pytest.raises(ApiError) as info:
            await client.get("/orders")
        assert str(info.value) == "GET /orders answered HTML (status 502), not JSON"
        # 502 is retryable: after the budget it is also a TransientError (a rebound may help)
        assert isinstance(info.value, TransientError) and isinstance(info.value, TransientApiError)
        with pytest.raises(ApiError) as info:
            await client.get("/orders", params={"s": 200})
        assert str(info.value) == "GET /orders answered HTML (status 200), not JSON"
        assert not isinstance(info.value, TransientError)


async def test_auth_errors_and_rate_limited(live: Callable[..., LiveServer]) -> None:
    async def status(request: Request) -> JSONResponse:
        code = int(request.path_params["code"])
        headers = {"Retry-After": "30"} if code == 429 else {}
        return JSONResponse({"message": f"status {code}"}, status_code=code, headers=headers)

    server = live([Route("/s/{code}", status)])
    async with HttpClient(spec(server.url, retry=RetrySpec(maxAttempts=2, maxWait=1))) as client:
        for code in (401, 403):
            with pytest.raises(AuthError) as auth_info:
                await client.get(f"/s/{code}")
            assert auth_info.value.status == code
        with pytest.raises(RateLimited) as limited:
            await client.get("/s/429")
        # Retry-After 30 s exceeds maxWait 1 s: give up at once with the hint
        assert limited.value.retry_after == pytest.approx(30)
        assert server.count("/s/429") == 1
        with pytest.raises(ApiError) as api:
            await client.get("/s/404")
        assert not isinstance(api.value, TransientError)


async def test_connection_refused_is_transient(free_port: int) -> None:
    retry = RetrySpec(maxAttempts=2, initialBackoff=0.01)
    async with HttpClient(spec(f"http://127.0.0.1:{free_port}", retry=retry)) as client:
        with pytest.raises(TransientError) as info:
            await client.get("/x")
        assert str(info.value).startswith("GET /x: cannot connect to 127.0.0.1")
        assert client.stats.retries == 1


async def test_absolute_url_other_host_refused(live: Callable[..., LiveServer]) -> None:
    server = live([Route("/echo", echo)])
    async with HttpClient(spec(server.url)) as client:
        assert (await client.get(server.url + "/echo"))["method"] == "GET"
        with pytest.raises(ConfigError):
            await client.get("https://other.example.com/echo")


async def test_string_forms_must_be_rendered() -> None:
    with pytest.raises(ConfigError):
        HttpClient(HttpSpec(baseUrl="https://x.example", auth="{{ cfg.auth }}"))


async def test_secrets_never_logged_nor_in_errors(
    live: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: Request) -> JSONResponse:
        code = int(request.query_params.get("status", "200"))
        # A careless API echoing the credentials back in its error message.
        return JSONResponse(
            {"message": f"bad key {request.headers.get('x-billbee-api-key')} {request.url}"}, status_code=code
        )

    server = live([Route("/orders", handler)])
    auth = [
        ApiKeyAuth(**{"in": "header", "name": "X-Billbee-Api-Key", "value": API_KEY}),
        BasicAuth(username="shop-user", password=PASSWORD),
        ApiKeyAuth(**{"in": "query", "name": "token", "value": QUERY_KEY}),
    ]
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with HttpClient(spec(server.url, auth=auth, retry=RetrySpec(maxAttempts=2, initialBackoff=0))) as c:
        await c.get("/orders")
        for status in (400, 401, 500):
            with pytest.raises(Exception) as info:
                await c.get("/orders", params={"status": status})
            errors.append(str(info.value))
    hit = server.hits[0]
    assert hit.headers["x-billbee-api-key"] == API_KEY and hit.headers["authorization"].startswith("Basic ")
    assert f"token={QUERY_KEY}" in hit.query
    assert "GET http://127.0.0.1" in caplog.text and "-> 500" in caplog.text
    everything = caplog.text + "\n".join(errors)
    for secret in (API_KEY, PASSWORD, QUERY_KEY):
        assert secret not in everything
    assert all("\n" not in e for e in errors)
    assert "bad key ***" in errors[0]
