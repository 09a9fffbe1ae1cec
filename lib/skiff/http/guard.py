"""Where connections may go: no cloud metadata, link-local or private addresses (SSRF).

A component's base URL, a token URL or a path may come from cfg, i.e. from whoever configures
a flow; without a guard, ``https://169.254.169.254/`` reads a cloud machine's credentials. The
check runs in the network backend, on the addresses the host name resolved to, and skiff then
connects to exactly the address it checked (a DNS answer that changes between check and
connect cannot slip through). It covers every connection the client makes: requests, OAuth2
token requests, and any URL a response points to (redirects are never followed anyway).

Rules: loopback is allowed (local sandboxes and tests); private ranges (RFC 1918, unique local
IPv6, carrier-grade NAT) only with ``allowPrivateNetworks``; link-local (cloud metadata lives
there), multicast, reserved and unspecified addresses never.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import httpcore
import httpx

from skiff.errors import ConfigError

from .reads import LargeReads

__all__ = ["BlockedAddress", "GuardedBackend", "GuardedTransport", "address_problem"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata services outside link-local ranges (Alibaba; Oracle uses 169.254.169.254 too).
_METADATA: Final = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})


class BlockedAddress(ConfigError):
    """A connection to an address the network policy refuses; raised before any packet is sent."""


def address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why skiff refuses to connect to ``ip``, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "link-local (where cloud metadata services live)"
    if ip.is_unspecified or ip.is_multicast:
        return "not a host address"
    if ip.is_global:
        return None
    if allow_private and (ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10")):
        return None
    return "a private network address (set allowPrivateNetworks to allow it)"


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in out:
            out.append(address)
    return out


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking every host before it connects."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.inner = inner or LargeReads()  # httpcore's own streams, reading 256 KB at a time
        self.resolve = resolve or _resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self.resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        allowed: list[str] = []
        problems: list[str] = []
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address.split("%", 1)[0]), allow_private=self.allow_private)
            if problem is None:
                allowed.append(address)
            else:
                problems.append(f"{address} is {problem}")
        if not allowed:
            shown = host if host in addresses else f"{host} ({', '.join(addresses) or 'no address'})"
            detail = "; ".join(problems) or "it has no address"
            raise BlockedAddress(f"refusing to connect to {shown}: {detail}")
        last: Exception | None = None
        for address in allowed:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[typing.Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a :class:`GuardedBackend` (everything else as httpx does it)."""

    def __init__(self, *, ssl_context: ssl.SSLContext, backend: GuardedBackend | None = None) -> None:
        super().__init__(verify=ssl_context)
        # httpx builds its pool without a way to pass a network backend: the same pool with one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend or GuardedBackend(),
        )
