"""Reading responses in large pieces: fewer trips through the HTTP/1.1 parser per page.

httpcore asks its network stream for 64 KB at a time. The event loop has often read more from
the socket already (up to 256 KB), and every 64 KB piece is one more trip through h11's
receive buffer (a copy), its event objects and httpx's byte iterators: a 250 KB page took four.
Streams from :class:`LargeReads` hand over up to :data:`READ_BYTES` at once; ``read`` may
return less than asked, never more than is there, so nothing else changes.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Final

import httpcore

__all__ = ["READ_BYTES", "LargeReads"]

READ_BYTES: Final = 256 * 1024
"""The most one read hands over (what asyncio's transports read from a socket at once)."""


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_BYTES), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class LargeReads(httpcore.AsyncNetworkBackend):
    """A network backend whose streams read up to :data:`READ_BYTES` at once (else ``inner``'s)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[typing.Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
