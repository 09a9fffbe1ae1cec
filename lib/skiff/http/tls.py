"""The TLS context every client shares, its CA bundle loaded at the first TLS handshake.

Loading certifi's bundle costs ~30 ms and ~2 MB at start-up; a call to a plain-http API (a local
sandbox, a loopback service) never needs it. The context is configured as httpx configures its
own (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured, else certifi), verification always on.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import Any

__all__ = ["shared_ssl_context"]


class _DeferredCAContext(ssl.SSLContext):
    """A client context (hostname checked, certificate required) that loads its CAs on first use."""

    _lock = threading.Lock()
    _loaded = False

    def _load_cas(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                if os.environ.get("SSL_CERT_FILE"):
                    self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
                elif os.environ.get("SSL_CERT_DIR"):
                    self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
                else:
                    import certifi

                    self.load_verify_locations(cafile=certifi.where())
                self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_cas()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_cas()
        return super().wrap_bio(*args, **kwargs)


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process (building one per client cost ~45 ms each)."""
    context = _DeferredCAContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:  # pragma: no cover
        raise RuntimeError("TLS client context without verification")
    return context
