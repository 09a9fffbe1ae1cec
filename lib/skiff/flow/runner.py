"""The embedded flow runner: one process, a durable journal, nothing lost across a SIGKILL.

The trigger polls on its schedule; its records and the snapshot after them enter the journal in
one transaction. Messages then move step by step: split → when → mapping → (lookup) → call →
outputs, with each step's outputs and its completion written together. Calls run concurrently
(``concurrency`` at a time) through one executor, whose rate limiters keep every component
within its API's limits. On start, a message whose step was running when the process died is
retried when the step is idempotent and held in doubt otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ComponentError, SkiffError
from ..message import Message, deterministic_id
from .document import FlowDocument
from .journal import END, Journal, NewMessage, Row
from .mapping import MappingError
from .model import Flow, Step, TriggerStep
from .step import StepLogic, compile_steps, failure_outcome, final_failure, routed_error, step_cfg

__all__ = ["FlowRunner", "RunStats", "default_journal_path"]

log = logging.getLogger("skiff.flow")


def default_journal_path(flow: Flow) -> Path:
    """``.skiff/flows/<name>.db`` under the working directory (like the snapshots of ``skiff run``)."""
    return Path(".skiff") / "flows" / f"{flow.name}.db"


@dataclass
class RunStats:
    """What a run did, for progress lines and summaries."""

    polled: int = 0
    added: int = 0
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)  # (step, outcome) → count
    recovered: int = 0
    held: int = 0


class FlowRunner:
    """Runs one flow embedded; ``journal`` holds everything, so any instance may pick up where one died."""

    def __init__(
        self,
        doc: FlowDocument,
        *,
        credentials: Mapping[str, Mapping[str, Any]],
        journal: Journal | str | Path | None = None,
        concurrency: int = 8,
        executor: Any = None,
        on_change: Callable[[str, str, Row], None] | None = None,
    ) -> None:
        from ..run import Executor

        self.doc = doc
        self.flow = doc.flow
        self.base = Path(doc.source).parent if not doc.source.startswith("<") else None
        self.credentials = {k: dict(v) for k, v in credentials.items()}
        if isinstance(journal, Journal):
            self.journal = journal
        else:
            self.journal = Journal(journal or default_journal_path(self.flow), flow=self.flow.name)
        self.concurrency = max(1, concurrency)
        self.executor = executor if executor is not None else Executor()
        self._own_executor = executor is None
        self.on_change = on_change
        self.stats = RunStats()
        self._wake = asyncio.Event()
        self._steps = compile_steps(self.flow, self.credentials, self.base, end=END)
        from .check import resolve_step_component

        self._trigger_component = resolve_step_component(self.flow.trigger.component, self.base)

    # ------------------------------------------------------------------ set-up

    def cfg_for(self, step: TriggerStep | Step, component: Any) -> dict[str, Any]:
        return step_cfg(step, component, self.credentials)

    def recover(self) -> tuple[int, int]:
        """Messages left running by a dead process: again when idempotent, else held in doubt."""
        retried, held = self.journal.recover(lambda step: step in self._steps and self._steps[step].idempotent)
        self.stats.recovered += retried
        self.stats.held += held
        if retried or held:
            log.info("recovered %d message(s) to retry, %d held in doubt", retried, held)
        return retried, held

    async def aclose(self) -> None:
        if self._own_executor:
            await self.executor.aclose()
        self.journal.close()

    async def __aenter__(self) -> FlowRunner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ the trigger

    async def poll(self, stop: asyncio.Event | None = None) -> int:
        """One poll of the trigger; returns how many new messages entered the journal.

        The run layer's :class:`~skiff.run.Session` owns the snapshot (kept in the journal's
        file, by the SQLite store), its key, the lease and commit-after-delivery: before each
        commit ``settle`` writes the records delivered so far into the journal.
        """
        from ..run import Data, Error, Session, StopRequested, transport
        from ..state import SQLiteStore

        trigger = self.flow.trigger
        first = self.flow.steps[0].id
        component = self._trigger_component
        pending: list[NewMessage] = []
        added = 0
        failure: SkiffError | None = None

        async def deliver(event: Any) -> None:
            nonlocal failure
            if isinstance(event, Data):
                msg = event.message
                pending.append(
                    NewMessage(
                        id=msg.id,  # deterministic (component, trigger, record, version): a repeat is ignored
                        root=msg.id,
                        parent=None,
                        step=first,
                        body=msg.body,
                        passthrough={trigger.id: msg.body},
                    )
                )
            elif isinstance(event, Error):
                failure = event.error

        async def settle() -> None:
            nonlocal added
            if pending:
                added += self.journal.add(pending)
                pending.clear()
                self._wake.set()

        store = SQLiteStore(self.journal.path)
        try:
            session = Session(
                self.executor,
                component,
                trigger.function,
                self.cfg_for(trigger, component),
                store=store,
                flow_id=self.flow.name,
                stop=stop,
            )
            with contextlib.suppress(StopRequested):
                await session.run(Message(body=dict(trigger.body)), transport(deliver, settle))
            await settle()  # records after the last snapshot: kept; the next poll's repeats are ignored
        finally:
            await store.close()
        self.stats.polled += 1
        self.stats.added += added
        if failure is not None:
            raise failure
        return added

    # ------------------------------------------------------------------ the steps

    async def drain(self, stop: asyncio.Event | None = None, *, forever: bool = False) -> None:
        """Process messages until none is pending (or, ``forever``, until ``stop``)."""
        inflight: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                if stop is not None and stop.is_set():
                    break
                free = self.concurrency - len(inflight)
                if free > 0:
                    for row in self.journal.ready(limit=free, exclude=set(inflight)):
                        inflight[row.id] = asyncio.create_task(self._process(row))
                if not inflight:
                    due = self.journal.next_due()
                    if due is None and not forever:
                        return
                    wait = 1.0 if due is None else max(0.0, due - self.journal.clock())
                    self._wake.clear()
                    waiters = [asyncio.ensure_future(self._wake.wait())]
                    if stop is not None:
                        waiters.append(asyncio.ensure_future(stop.wait()))
                    await asyncio.wait(waiters, timeout=min(wait, 1.0), return_when=asyncio.FIRST_COMPLETED)
                    for w in waiters:
                        w.cancel()
                    continue
                done, _ = await asyncio.wait(inflight.values(), timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    for key, value in list(inflight.items()):
                        if value is task:
                            del inflight[key]
                    task.result()
        finally:
            if inflight:  # let running calls finish and be journaled: a clean stop leaves no doubt
                await asyncio.gather(*inflight.values(), return_exceptions=True)

    async def _process(self, row: Row) -> None:
        compiled = self._steps.get(row.step)
        if compiled is None:
            self.journal.fail(row.id, error_kind="ConfigError", error=f"the flow has no step {row.step!r} any more")
            self._changed(row, "failed")
            return
        step = compiled.step
        try:
            if compiled.split is not None and row.item is None:
                items = compiled.split_items(row.body, row.passthrough)
                children = [
                    NewMessage(
                        id=deterministic_id(row.id, step.id, "item", i),
                        root=row.root,
                        parent=row.id,
                        step=step.id,
                        body=item,
                        passthrough=row.passthrough,
                        item=i,
                    )
                    for i, item in enumerate(items)
                ]
                self.journal.finish(row.id, status="split", outputs=children, detail={"items": len(children)})
                self._wake.set()
                self._changed(row, "split")
                return
            if not compiled.admits(row.body, row.passthrough):
                self.journal.finish(row.id, status="filtered")
                self._changed(row, "filtered")
                return
            body = compiled.input_for(row.body, row.passthrough)
        except MappingError as err:
            self._failed(row, compiled, err, started=False)
            return
        self.journal.start(row.id)
        attempts = row.attempts + 1
        try:
            outputs, found = await compiled.call(self.executor, body, row.passthrough)
        except SkiffError as err:
            self._failed(row, compiled, err, started=True, attempts=attempts, body=body)
            return
        except Exception as exc:  # a bug: kept with the message, never lost
            log.debug("step crashed", exc_info=True)
            self._failed(row, compiled, ComponentError(f"{type(exc).__name__}: {exc}"), started=True, attempts=attempts)
            return
        news = []
        blobs = []
        for i, msg in enumerate(outputs):
            out_id = deterministic_id(row.id, step.id, i)
            news.append(
                NewMessage(
                    id=out_id,
                    root=row.root,
                    parent=row.id,
                    step=compiled.next_step,
                    body=msg.body,
                    passthrough={**row.passthrough, step.id: msg.body},
                    status="done" if compiled.next_step == END else "pending",
                )
            )
            for name, att in msg.attachments.items():
                if att.content is not None:
                    blobs.append((out_id, name, att.content_type, att.content))
        detail = {"input": body, "outputs": len(news)}
        if found:
            detail["found"] = True
        self.journal.finish(row.id, outputs=news, detail=detail, attachments=blobs)
        self._wake.set()
        self._changed(row, "found" if found else "done")

    def _failed(
        self,
        row: Row,
        compiled: StepLogic,
        err: SkiffError,
        *,
        started: bool,
        attempts: int = 0,
        body: Any = None,
    ) -> None:
        policy = compiled.step.onError
        outcome = failure_outcome(policy, err, attempts)
        if outcome == "retry":
            delay = policy.delay(attempts)
            self.journal.retry_later(row.id, delay=delay, error_kind=err.kind, error=str(err))
            self._changed(row, "retry")
            return
        err = final_failure(policy, err, attempts)  # as a RabbitMQ worker reports it
        text = str(err)
        if outcome == "skip":
            nxt = compiled.next_step
            out = NewMessage(
                id=deterministic_id(row.id, compiled.step.id, "skip"),
                root=row.root,
                parent=row.id,
                step=nxt,
                body=row.body,
                passthrough=row.passthrough,
                status="done" if nxt == END else "pending",
            )
            self.journal.fail(row.id, error_kind=err.kind, error=text, status="skipped", outputs=[out])
            self._wake.set()
            self._changed(row, "skipped")
            return
        if outcome == "route" and policy.route:
            out = NewMessage(
                id=deterministic_id(row.id, compiled.step.id, "error"),
                root=row.root,
                parent=row.id,
                step=policy.route,
                body=routed_error(err, row.body),
                passthrough=row.passthrough,
            )
            self.journal.fail(row.id, error_kind=err.kind, error=text, status="routed", outputs=[out])
            self._wake.set()
            self._changed(row, "routed")
            return
        self.journal.fail(row.id, error_kind=err.kind, error=text)
        self._changed(row, "failed")

    def _changed(self, row: Row, outcome: str) -> None:
        self.stats.steps[(row.step, outcome)] += 1
        if self.on_change is not None:
            self.on_change(row.step, outcome, row)

    # ------------------------------------------------------------------ whole runs

    async def run_once(self, stop: asyncio.Event | None = None) -> None:
        """Recover, poll once, and process everything (retries included) until nothing is pending."""
        self.recover()
        await self.poll(stop)
        await self.drain(stop)

    async def run_forever(self, stop: asyncio.Event, *, interval: float | None = None) -> None:
        """Poll on the trigger's schedule while processing, until ``stop``; then finish what is running."""
        self.recover()
        worker = asyncio.create_task(self.drain(stop, forever=True))
        try:
            while not stop.is_set():
                started = time.time()
                try:
                    await self.poll(stop)
                except SkiffError as err:
                    log.warning("trigger poll failed: %s", err)
                    self.stats.steps[(self.flow.trigger.id, "failed")] += 1
                wait = self._next_wait(started, interval)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        finally:
            await worker

    def _next_wait(self, started: float, interval: float | None) -> float:
        schedule = self.flow.trigger.schedule
        if interval is not None:
            return max(0.0, started + interval - time.time())
        if schedule.cron is not None:
            from datetime import UTC, datetime

            from croniter import croniter

            nxt = croniter(schedule.cron, datetime.now(UTC)).get_next(float)
            return max(0.0, float(nxt) - time.time())
        every = schedule.interval or 60.0
        return max(0.0, started + every - time.time())
