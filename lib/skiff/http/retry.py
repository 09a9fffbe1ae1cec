"""When to send a request again, and how long to wait first (on top of tenacity).

A request is repeated only when repeating cannot do harm: any request after a connection
failure (nothing reached the server); idempotent requests (GET, PUT, DELETE, ...) after a
retryable status or a broken/timed-out response; POST and PATCH only after 429 and 503
(the server said it did not process them), unless the caller declares them idempotent.
``Retry-After`` (seconds or an HTTP date) is honoured; otherwise exponential backoff with
full jitter. ``maxAttempts`` caps the attempts, ``maxWait`` the total time spent waiting.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from skiff.specs import RetrySpec

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = [
    "CONNECT_ERRORS",
    "IDEMPOTENT_METHODS",
    "RetryEvent",
    "RetryPolicy",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

# The request certainly did not reach the server: safe to repeat whatever the method.
CONNECT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The server said it did not process the request: safe for POST/PATCH too.
_UNPROCESSED_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """One decision to retry: shown in the debug log and counted in the stats."""

    attempt: int  # the attempt that failed (1-based)
    wait: float  # seconds until the next attempt
    reason: str  # "status 429", "ConnectError", ...
    status: int | None = None  # the status that failed, if a response came
    retry_after: bool = False  # the wait is the server's Retry-After (not backoff)


class RetryPolicy:
    """The retry rules of one RetrySpec; ``run`` drives the attempts through tenacity."""

    def __init__(
        self,
        spec: RetrySpec | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec or RetrySpec.model_validate({})
        self.statuses = frozenset(self.spec.statuses)
        self._sleep = sleep
        self._rng = rng
        self._wall = wall

    @staticmethod
    def is_idempotent(method: str, idempotent: bool | None = None) -> bool:
        return idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS

    def should_retry(
        self,
        method: str,
        *,
        idempotent: bool | None = None,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
    ) -> bool:
        safe = self.is_idempotent(method, idempotent)
        if error is not None:
            if isinstance(error, CONNECT_ERRORS):
                return True
            # A read timeout or a dropped response: the server may have acted on it.
            return safe and isinstance(error, httpx.TransportError)
        if response is not None and response.status_code in self.statuses:
            return safe or response.status_code in _UNPROCESSED_STATUSES
        return False

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(maxBackoff, initialBackoff * 2^(attempt-1))]."""
        cap = min(self.spec.maxBackoff, self.spec.initialBackoff * 2.0 ** max(0, attempt - 1))
        return float(cap * self._rng())

    def retry_after(self, response: httpx.Response | None) -> float | None:
        if response is None:
            return None
        return parse_retry_after(response.headers.get("Retry-After"), now=self._wall())

    async def run(
        self,
        attempt: Callable[[], Awaitable[httpx.Response]],
        *,
        method: str,
        idempotent: bool | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> httpx.Response:
        """Call ``attempt`` until it succeeds or may not be repeated.

        Returns the last response (maybe a retryable status: the caller maps it to an error)
        or raises the last exception. ``time_left`` (seconds until the call's deadline): no
        wait that would end after it is begun.
        """
        # Fast path: most requests succeed at once, and tenacity costs ~100 µs per call.
        first: httpx.Response | None = None
        first_error: BaseException | None = None
        try:
            first = await attempt()
        except Exception as exc:
            if not self.should_retry(method, idempotent=idempotent, error=exc):
                raise
            first_error = exc
        else:
            if not self.should_retry(method, idempotent=idempotent, response=first):
                return first
        replayed = False

        async def attempt_after_first() -> httpx.Response:
            # Tenacity's attempt 1 is the one already made: hand over its outcome.
            nonlocal replayed
            if not replayed:
                replayed = True
                if first_error is not None:
                    raise first_error
                assert first is not None
                return first
            return await attempt()

        def outcome(state: RetryCallState) -> tuple[httpx.Response | None, BaseException | None]:
            assert state.outcome is not None
            if state.outcome.failed:
                return None, state.outcome.exception()
            result = state.outcome.result()
            return (result if isinstance(result, httpx.Response) else None), None

        def retry(state: RetryCallState) -> bool:
            response, error = outcome(state)
            return self.should_retry(method, idempotent=idempotent, response=response, error=error)

        def wait(state: RetryCallState) -> float:
            response, _ = outcome(state)
            remaining = max(0.0, self.spec.maxWait - state.idle_for)
            after = self.retry_after(response)
            if after is not None:
                return after  # may exceed the budget: stop() then gives up
            backoff = self.backoff(state.attempt_number)
            if backoff > 0 and remaining <= 0:
                return float("inf")  # the wait budget is spent: stop() gives up
            return min(backoff, remaining)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.spec.maxAttempts:
                return True
            if time_left is not None and state.upcoming_sleep >= time_left():
                return True
            return state.idle_for + state.upcoming_sleep > self.spec.maxWait + 1e-9

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is None:
                return
            response, error = outcome(state)
            reason = f"status {response.status_code}" if response is not None else type(error).__name__
            on_retry(
                RetryEvent(
                    state.attempt_number,
                    state.upcoming_sleep,
                    reason,
                    status=response.status_code if response is not None else None,
                    retry_after=self.retry_after(response) is not None,
                )
            )

        def give_up(state: RetryCallState) -> httpx.Response:
            assert state.outcome is not None
            result = state.outcome.result()  # re-raises the last exception
            assert isinstance(result, httpx.Response)
            return result

        from tenacity import AsyncRetrying  # only once a retry is needed: saves ~12 ms at start

        retrying = AsyncRetrying(
            sleep=self._sleep,
            retry=retry,
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        return await retrying(attempt_after_first)
