"""SSRF: link-local, metadata and private addresses are refused before any connection
(issue 11, item 5). Every test connects to 127.0.0.1 only; attempts to go anywhere else are
caught by a recorder in place of the socket layer, which refuses them without sending."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpcore
import pytest
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from skiff.errors import SkiffError
from skiff.http import HttpClient
from skiff.http.guard import BlockedAddress, GuardedBackend, address_problem
from skiff.specs import HttpSpec, RetrySpec


class Attempts:
    """Replaces the socket layer: loopback connects for real, anything else is only recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hosts: list[str] = []
        real = httpcore.AnyIOBackend.connect_tcp
        attempts = self

        async def connect_tcp(self: Any, host: str, port: int, *args: Any, **kw: Any) -> Any:
            attempts.hosts.append(host)
            if not ipaddress.ip_address(host.strip("[]")).is_loopback if _is_ip(host) else host != "localhost":
                raise httpcore.ConnectError(f"test: not connecting to {host}")
            return await real(self, host, port, *args, **kw)

        monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)

    def remote(self) -> list[str]:
        return [h for h in self.hosts if not (_is_ip(h) and ipaddress.ip_address(h).is_loopback)]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Attempts:
    return Attempts(monkeypatch)


def _spec(base: str, **kw: Any) -> HttpSpec:
    return HttpSpec(baseUrl=base, retry=RetrySpec(maxAttempts=1), connectTimeout=2, **kw)


@pytest.mark.parametrize(
    "base",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.255.255.1/api",
        "https://192.168.1.1/api",
        "https://[fe80::1]/api",
        "https://100.100.100.200/api",
        "https://[::ffff:169.254.169.254]/api",
    ],
)
async def test_refused_before_connecting(attempts: Attempts, base: str) -> None:
    async with HttpClient(_spec(base)) as client:
        with pytest.raises(BlockedAddress, match="refusing to connect"):
            await client.get("/x")
    assert attempts.hosts == []


async def test_private_networks_when_allowed_but_never_metadata(attempts: Attempts) -> None:
    async with HttpClient(_spec("https://10.255.255.1/api", allowPrivateNetworks=True)) as client:
        with pytest.raises(SkiffError, match="cannot connect"):
            await client.get("/x")
    assert attempts.hosts == ["10.255.255.1"]  # allowed: the guard let it through (the recorder stopped it)
    async with HttpClient(_spec("https://169.254.169.254/", allowPrivateNetworks=True)) as client:
        with pytest.raises(BlockedAddress):
            await client.get("/x")
    assert attempts.hosts == ["10.255.255.1"]


async def test_checked_after_dns_resolution() -> None:
    names = {
        "metadata.test": ["169.254.169.254"],
        "intranet.test": ["10.1.2.3"],
        "mixed.test": ["10.0.0.1", "127.0.0.1"],
    }
    connected: list[str] = []

    class Inner(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *args: Any, **kw: Any) -> Any:
            connected.append(host)
            raise httpcore.ConnectError("test: recorded only")

    async def resolve(host: str, port: int) -> list[str]:
        return names[host]

    guard = GuardedBackend(inner=Inner(), resolve=resolve)
    for host in ("metadata.test", "intranet.test"):
        with pytest.raises(BlockedAddress, match=host):
            await guard.connect_tcp(host, 443)
    assert connected == []
    with pytest.raises(httpcore.ConnectError):
        await guard.connect_tcp("mixed.test", 443)
    assert connected == ["127.0.0.1"]  # only the address that passed the check


async def test_a_redirect_to_metadata_is_not_followed(live: Any, attempts: Attempts) -> None:
    server = live([Route("/go", lambda request: RedirectResponse("http://169.254.169.254/latest/meta-data"))])
    async with HttpClient(_spec(server.url)) as client:
        with pytest.raises(SkiffError, match="redirects are not followed"):
            await client.get("/go")
    assert attempts.remote() == []


def test_address_rules() -> None:
    def problem(text: str, allow: bool = False) -> str | None:
        return address_problem(ipaddress.ip_address(text), allow_private=allow)

    assert problem("127.0.0.1") is None and problem("::1") is None
    assert problem("8.8.8.8") is None
    assert problem("10.0.0.1") and problem("10.0.0.1", True) is None
    assert problem("172.16.5.4") and problem("100.64.0.1") and problem("fd12::1")
    assert problem("169.254.169.254", True) and problem("fe80::1", True) and problem("0.0.0.0", True)


def test_the_http_component_refuses_metadata_and_obeys_its_cfg(attempts: Attempts) -> None:
    from skiff.component import resolve_component
    from skiff.message import Message
    from skiff.run import Executor

    async def run(cfg: dict[str, Any]) -> str:
        async with Executor() as executor:
            result = await executor.run(
                resolve_component("http"), "request", cfg, Message(body={"path": "/latest/meta-data"})
            )
        assert result.error is not None
        return str(result.error)

    import asyncio

    assert "refusing to connect to 169.254.169.254" in asyncio.run(run({"baseUrl": "https://169.254.169.254"}))
    assert "refusing to connect to 10.255.255.1" in asyncio.run(run({"baseUrl": "https://10.255.255.1"}))
    assert attempts.hosts == []
    allowed = asyncio.run(run({"baseUrl": "https://10.255.255.1", "allowPrivateNetworks": True}))
    assert "refusing" not in allowed and set(attempts.hosts) == {"10.255.255.1"}


async def test_proxies_from_the_environment_do_not_route_around_the_guard(
    live: Any, attempts: Attempts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY/ALL_PROXY would hand the target to a proxy that connects to it itself; the
    client uses no proxy from the environment, so the guard sees (and refuses) the target."""
    import asyncio

    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())  # "CONNECT 169.254.169.254:443 HTTP/1.1" if used
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        for base in ("https://169.254.169.254/latest", "https://10.255.255.1/api", "https://[fe80::1]/api"):
            async with HttpClient(_spec(base)) as client:
                with pytest.raises(BlockedAddress, match="refusing to connect"):
                    await client.get("/x")
        api = live([Route("/ok", lambda request: JSONResponse({"ok": True}))])
        async with HttpClient(_spec(api.url)) as client:
            assert await client.get("/ok") == {"ok": True}  # straight to the API
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [] and attempts.remote() == []
