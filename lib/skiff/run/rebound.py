"""Rebounds as the elastic.io sailor does them: the message comes back later, ever later, a few times.

A handler (or a transport, on a rate limit) asks for a rebound; the sailor republishes the
message after 15 s, doubling the delay each time, at most 20 times. Transports that keep the
message in their own hands (the CLI, the embedded flow runner) run it again with these delays;
the RabbitMQ worker leaves it to the broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import backoff_delay

__all__ = ["ReboundPolicy"]


@dataclass(frozen=True, slots=True)
class ReboundPolicy:
    """``initial`` seconds before the first retry, times ``factor`` each time, ``limit`` retries at most."""

    initial: float = 15.0  # sailor-nodejs: REBOUND_INITIAL_EXPIRATION 15000 ms
    factor: float = 2.0
    limit: int = 20  # sailor-nodejs: REBOUND_LIMIT

    def delay(self, rebound: int) -> float:
        """Seconds to wait before retry number ``rebound`` (1-based)."""
        return backoff_delay(self.initial, rebound, factor=self.factor)
