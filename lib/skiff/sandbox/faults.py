"""Switchable faults: latency, 5xx answers, dropped connections and bursts of 429.

They are applied by the sandbox middleware to every vendor request (never to ``/_sandbox/``).
Random choices come from a ``random.Random`` seeded with the sandbox seed and re-seeded on
every configuration, so a test sees the same sequence of faults each run.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = ["FaultDecision", "Faults"]

FaultDecision = Literal["ok", "drop", "error", "429"]


@dataclass
class Faults:
    latency_ms: float = 0.0  # added before every request is handled
    error_rate: float = 0.0  # share of requests answered with one of error_statuses
    drop_rate: float = 0.0  # share of requests whose connection is closed without a response
    burst_429: int = 0  # the next N requests answer 429
    retry_after: float = 1.0  # Retry-After seconds sent with burst 429s
    # Retry-After seconds sent with error statuses, as many APIs do with a 503 (None: no header).
    error_retry_after: float | None = None
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503, 504])
    paths: str | None = None  # a regex: only matching paths get faults (None: all)
    seed: int | None = None  # re-seeds the fault sequence (None: the sandbox seed)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed or 0)
        self._pattern = re.compile(self.paths) if self.paths else None
        self.validate()

    def validate(self) -> None:
        if not 0 <= self.error_rate <= 1 or not 0 <= self.drop_rate <= 1:
            raise ValueError("error_rate and drop_rate must be between 0 and 1")
        retry_afters = (self.retry_after, self.error_retry_after or 0.0)
        if self.latency_ms < 0 or self.burst_429 < 0 or min(retry_afters) < 0:
            raise ValueError("latency_ms, burst_429, retry_after and error_retry_after must not be negative")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be a non-empty list of 5xx statuses")

    @classmethod
    def from_json(cls, data: dict[str, Any], *, default_seed: int) -> Faults:
        """Build from ``PUT /_sandbox/faults``; unknown keys are an error (a typo must not pass)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}; known: {names}")
        faults = cls(**data)
        if faults.seed is None:
            faults._rng = random.Random(default_seed)
        return faults

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.drop_rate or self.burst_429)

    def applies_to(self, path: str) -> bool:
        return self._pattern is None or self._pattern.search(path) is not None

    def decide(self) -> tuple[FaultDecision, int]:
        """What to do with the next request: ("ok"|"drop"|"error"|"429", status for "error")."""
        with self._lock:
            if self.burst_429 > 0:
                self.burst_429 -= 1
                return "429", 429
            if self.drop_rate and self._rng.random() < self.drop_rate:
                return "drop", 0
            if self.error_rate and self._rng.random() < self.error_rate:
                return "error", self._rng.choice(self.error_statuses)
            return "ok", 200
