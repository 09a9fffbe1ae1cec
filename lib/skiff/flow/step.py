"""One step of a flow, compiled: its expressions, its cfg, and its call (with lookup-or-create).

The embedded runner and the RabbitMQ worker both use :class:`StepLogic`; only where messages
wait differs (the journal, or a queue).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, SkiffError, TransientError
from ..message import Message, page_records
from .locks import KeyLocks, LocalLocks
from .mapping import Expression, truthy
from .model import ErrorPolicy, Flow, Step, TriggerStep

__all__ = [
    "StepLogic",
    "compile_steps",
    "failure_outcome",
    "final_failure",
    "routed_error",
    "step_cfg",
    "step_is_idempotent",
]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}


def step_is_idempotent(step: Step, component: Any) -> bool:
    """May this step run again after a crash without doing twice what it did?

    Yes when the flow declares so, when it is a lookup-or-create, when the component declares
    the action idempotent, or when its declarative request is a read or a PUT/DELETE.
    """
    if step.idempotent is not None:
        return step.idempotent
    if step.lookup is not None:
        return True
    model = component.function(step.function).model
    if model.idempotent is not None:
        return bool(model.idempotent)
    if model.main:
        return False
    request = model.request
    return request is not None and request.method.upper() in _SAFE_METHODS


def failure_outcome(policy: ErrorPolicy, err: SkiffError, attempts: int) -> str:
    """What a failed attempt (1-based) leads to: ``retry``, or the policy's ``stop``, ``skip`` or ``route``.

    One rule for the embedded runner and the RabbitMQ workers: a retryable failure is retried
    while ``attempts <= retries``; any other failure, or one that used up its retries, does ``then``.
    """
    if err.retryable and attempts <= policy.retries:
        return "retry"
    if policy.then == "skip":
        return "skip"
    if policy.then == "route" and policy.route:
        return "route"
    return "stop"


def final_failure(policy: ErrorPolicy, err: SkiffError, attempts: int) -> SkiffError:
    """The failure a step reports once it retries no more (``then`` applies), for ``flow errors`` and replay.

    A retryable failure that used up its rebounds keeps its own name and message (the one line that
    says what went wrong) and adds ``(gave up after N rebounds)``; the copy is not retryable, so a
    RabbitMQ worker sends it to the errors queue as it is. Any other failure is itself. One rule for
    the embedded runner and the RabbitMQ workers: the same failure reads the same in both.
    """
    if not err.retryable or attempts <= policy.retries:
        return err
    rebounds = max(0, attempts - 1)
    final = copy.copy(err)  # the same class (its kind, status, retry_after), one more clause
    final.message = f"{err.message} (gave up after {rebounds} rebound{'' if rebounds == 1 else 's'})"
    final.args = (final.message,)
    final.retryable = False
    return final


def routed_error(err: SkiffError, failed_input: Any) -> dict[str, Any]:
    """The body an error step receives: the failure and the input that failed."""
    return {"error": {"name": err.kind, "message": str(err)}, "errorInput": failed_input}


def step_cfg(step: Step | TriggerStep, component: Any, credentials: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Credentials (by reference) plus the step's own fields; numbers from env vars made numbers."""
    cfg: dict[str, Any] = {}
    if step.credentials:
        if step.credentials not in credentials:
            raise ConfigError(f"step {step.id!r}: credential set {step.credentials!r} was not resolved")
        cfg.update(credentials[step.credentials])
    cfg.update(step.cfg)
    fields = dict(component.model.credentials.fields)
    with contextlib.suppress(KeyError):
        fields.update(component.function(step.function).fields)
    for name, value in list(cfg.items()):
        f = fields.get(name)
        if f is not None and isinstance(value, str):
            if f.viewClass == "NumberFieldView" or f.type in ("number", "integer"):
                with contextlib.suppress(ValueError):
                    cfg[name] = float(value) if "." in value else int(value)
            elif f.viewClass == "CheckBoxView" or f.type == "boolean":
                cfg[name] = value.strip().lower() in ("1", "true", "yes", "on")
    return cfg


def lock_key(lookup_body: Any) -> str:
    """The same text for the same lookup in every process (keys sorted)."""
    import orjson

    try:
        return orjson.dumps(lookup_body, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return repr(lookup_body)


class StepLogic:
    """A step ready to run: ``split`` / ``when`` / ``mapping`` compiled, cfg resolved, next step known."""

    def __init__(self, step: Step, component: Any, next_step: str, cfg: dict[str, Any]) -> None:
        self.step = step
        self.component = component
        self.next_step = next_step
        self.cfg = cfg
        self.idempotent = step_is_idempotent(step, component)

        def expr(source: str | None, name: str) -> Expression | None:
            return Expression(source, step=step.id, field=name) if source is not None else None

        self.mapping = expr(step.mapping, "mapping")
        self.when = expr(step.when, "when")
        self.split = expr(step.split, "split")
        self.lookup_mapping = expr(step.lookup.mapping if step.lookup else None, "lookup.mapping")
        self.lookup_where = expr(step.lookup.where if step.lookup else None, "lookup.where")
        self.locks: KeyLocks = LocalLocks()  # RedisLocks when workers share a Redis

    # ------------------------------------------------------------------ expressions

    def split_items(self, body: Any, passthrough: Mapping[str, Any]) -> list[Any]:
        """The items a message is split into (the split expression's array; one value is one item)."""
        assert self.split is not None
        items = self.split.evaluate(body, {"passthrough": passthrough})
        return items if isinstance(items, list) else [] if items is None else [items]

    def admits(self, body: Any, passthrough: Mapping[str, Any]) -> bool:
        return self.when is None or truthy(self.when.evaluate(body, {"passthrough": passthrough}))

    def input_for(self, body: Any, passthrough: Mapping[str, Any]) -> Any:
        """The step's input: the mapping over the incoming body (the body itself without one)."""
        if self.mapping is None:
            return body
        mapped = self.mapping.evaluate(body, {"passthrough": passthrough})
        return {} if mapped is None else mapped

    # ------------------------------------------------------------------ the call

    async def call(self, executor: Any, body: Any, passthrough: Mapping[str, Any]) -> tuple[list[Message], bool]:
        """Run the step on its input: ``(outputs, found)``; ``found`` when the lookup answered."""
        if self.step.lookup is None:
            return await self.run(executor, self.step.function, body), False
        lookup_body = body
        if self.lookup_mapping is not None:
            lookup_body = self.lookup_mapping.evaluate(body, {"passthrough": passthrough})
        # One lookup-or-create per key at a time (across processes with shared locks): two orders
        # of one customer must not both create.
        async with self.locks.hold(lock_key(lookup_body)):
            found = await self._lookup(executor, body, lookup_body, passthrough)
            if found is not None:
                return [Message(body=found)], True
            return await self.run(executor, self.step.function, body), False

    async def _lookup(self, executor: Any, body: Any, lookup_body: Any, passthrough: Mapping[str, Any]) -> Any:
        assert self.step.lookup is not None
        records: list[Any] = []
        for msg in await self.run(executor, self.step.lookup.function, lookup_body):
            page = page_records(msg.body)
            if page is not None:
                records.extend(page)  # a page wrapper: its records
            else:
                records.append(msg.body)
        for record in records:
            if record in (None, {}):
                continue
            if self.lookup_where is None:
                return record
            if truthy(self.lookup_where.evaluate(record, {"input": body, "passthrough": passthrough})):
                return record
        return None

    async def run(self, executor: Any, function: str, body: Any) -> list[Message]:
        """One call through the executor; its data messages, or its error raised."""
        outputs: list[Message] = []
        failure: list[SkiffError] = []

        async def emit(event: Any) -> None:
            if event.kind == "data":
                outputs.append(event.payload)
            elif event.kind == "error":
                failure.append(event.payload["error"])
            elif event.kind == "rebound":
                failure.append(TransientError(f"rebound: {event.payload}"))

        await executor.run(self.component, function, dict(self.cfg), Message(body=body), emit=emit)
        if failure:
            raise failure[0]
        return outputs


def compile_steps(
    flow: Flow, credentials: Mapping[str, Mapping[str, Any]], base: Path | None, *, end: str
) -> dict[str, StepLogic]:
    """Every chain and error step of ``flow``; the last chain step (and error steps) lead to ``end``."""
    from .check import resolve_step_component

    out: dict[str, StepLogic] = {}
    chain = flow.steps
    for group, steps in (("chain", chain), ("errors", flow.errorSteps)):
        for i, step in enumerate(steps):
            component = resolve_step_component(step.component, base)
            nxt = chain[i + 1].id if group == "chain" and i + 1 < len(chain) else end
            out[step.id] = StepLogic(step, component, nxt, step_cfg(step, component, credentials))
    return out
