"""Large reads (``skiff.http.reads``): httpcore's streams asked for 256 KB at a time, nothing else changed."""

from __future__ import annotations

import typing

import httpcore

from skiff.http.reads import READ_BYTES, LargeReads
from tests.support import serve_asgi


class Recording(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, noting what each read asks for."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.asked: list[int] = []

    async def connect_tcp(
        self, host: str, port: int, *args: typing.Any, **kw: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, *args, **kw)
        asked = self.asked

        class Noted(httpcore.AsyncNetworkStream):
            async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
                asked.append(max_bytes)
                return await stream.read(max_bytes, timeout)

            async def write(self, buffer: bytes, timeout: float | None = None) -> None:
                await stream.write(buffer, timeout)

            async def aclose(self) -> None:
                await stream.aclose()

        return Noted()


async def app(scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any) -> None:
    body = b"x" * 1_000_000
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000000")]})
    await send({"type": "http.response.body", "body": body})


async def test_a_large_body_arrives_whole_in_large_reads() -> None:
    recording = Recording()
    with serve_asgi(app) as url:
        async with httpcore.AsyncConnectionPool(network_backend=LargeReads(recording)) as pool:
            response = await pool.request("GET", url + "/")
    assert response.content == b"x" * 1_000_000
    assert recording.asked and min(recording.asked) >= READ_BYTES
