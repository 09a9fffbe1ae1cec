"""The shared TLS context: verification always on, CA bundle loaded at the first handshake only."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

from skiff.http.tls import _DeferredCAContext, shared_ssl_context


def test_verification_is_on_and_cas_load_at_the_first_tls_use() -> None:
    context = _DeferredCAContext(ssl.PROTOCOL_TLS_CLIENT)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="api.example.com")
    assert context.cert_store_stats()["x509_ca"] > 100  # the whole bundle, before any handshake
    shared = shared_ssl_context()
    assert shared is shared_ssl_context()
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname


_PLAIN_HTTP = """
import asyncio, sys
from skiff.http import HttpClient
from skiff.http.tls import shared_ssl_context
from skiff.specs import HttpSpec
from tests.support import serve_asgi

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})

async def main():
    with serve_asgi(app) as url:
        async with HttpClient(HttpSpec(baseUrl=url)) as client:
            assert await client.get("/x") == {"ok": True}
    print(shared_ssl_context().cert_store_stats()["x509_ca"])

asyncio.run(main())
"""


def test_a_plain_http_call_never_loads_the_ca_bundle() -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _PLAIN_HTTP], capture_output=True, text=True, timeout=60, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
