"""Compatibility: the executor moved to :mod:`skiff.run`; import from there."""

from __future__ import annotations

from .run import Context, Event, EventKind, Executor, RunResult, cfg_schema, secrets_of

__all__ = ["Context", "Event", "EventKind", "Executor", "RunResult", "cfg_schema", "secrets_of"]
