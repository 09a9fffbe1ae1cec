"""Rate-limit windows shared between processes: ``--rate-limits redis://...`` (``SKIFF_RATE_LIMITS``).

Several processes calling one account (``skiff run`` in a loop, ``skiff poll`` beside a worker)
stay under its limits only when they count in one place; a Redis URL names that place.
"""

from __future__ import annotations

from typing import TypeGuard

from skiff.errors import ConfigError

from .ratelimit import RateLimiter
from .redact import redact_url

__all__ = ["is_shared", "shared_limiter"]

SCHEMES = ("redis://", "rediss://")


def is_shared(url: str | None) -> TypeGuard[str]:
    """Whether ``url`` names a place processes share (a Redis), not one process's memory."""
    return url is not None and url.startswith(SCHEMES)


def shared_limiter(url: str | None) -> RateLimiter | None:
    """A limiter whose windows live at ``url`` (None or empty: None, each process counts alone)."""
    if not url:
        return None
    if not url.startswith(SCHEMES):
        raise ConfigError(f"--rate-limits {redact_url(url)!r}: expected a redis:// URL")
    return RateLimiter(storage_uri=url)
