"""Flows run from the canvas: the embedded runner of :mod:`skiff.flow`, watched live.

A run is ``FlowRunner.run_once`` (recover, one poll, everything that follows) as a task of the
studio's event loop, on the studio's executor (so try-its and runs share the rate limiters).
The journal is the one ``skiff flow run`` uses for the same file (``.skiff/flows/<name>.db``
under the flows folder), behind the same lock file, so ``skiff flow status|errors|replay``
see what the studio did and the two never run one journal at once. Credential sets are the
studio's saved ones with the same name; a name the studio has not saved comes from the
environment or the credentials file, as for ``skiff flow run``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, SkiffError
from ..flow import FlowDocument, load_flow, resolve_credentials
from ..flow.credentials import default_credentials_path
from ..flow.journal import END, Journal, Row, StepTotals, lock_journal
from ..flow.runner import FlowRunner, default_journal_path
from .calls import error_view
from .vault import Vault

__all__ = ["FlowRuns"]

_SHOWN = ("failed", "doubt", "routed", "skipped")


@dataclass
class _Run:
    path: Path
    doc: FlowDocument
    journal_path: Path
    runner: FlowRunner | None = None
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    error: SkiffError | None = None
    lock: IO[str] | None = None


def _row_view(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "root": row.root,
        "step": row.step,
        "status": row.status,
        "attempts": row.attempts,
        "error": f"{row.error_kind}: {row.error}" if row.error_kind else row.error,
        "input": row.body,
        "passthrough": row.passthrough,
    }


class FlowRuns:
    """At most one run per flow file; status, failures, one message and replay from its journal."""

    def __init__(self, root: Path, vault: Vault, executor: Any) -> None:
        self.root = root
        self.vault = vault
        self.executor = executor
        self._runs: dict[Path, _Run] = {}

    def journal_path(self, doc: FlowDocument) -> Path:
        return self.root / default_journal_path(doc.flow)

    def credentials(self, doc: FlowDocument) -> dict[str, dict[str, Any]]:
        """Each credential set the flow names: the studio's saved set of that name, else env/file."""
        flow = doc.flow
        wanted: dict[str, str] = {}
        for step in [flow.trigger, *flow.steps, *flow.errorSteps]:
            if step.credentials:
                wanted.setdefault(step.credentials, step.component)
        saved = {(e["name"], e["component"]): e["id"] for e in self.vault.public({})}
        out: dict[str, dict[str, Any]] = {}
        for name, component in wanted.items():
            cid = saved.get((name, component))
            if cid is not None:
                out[name] = self.vault.cfg(cid)[1]
        if len(out) < len(wanted):
            missing = [n for n in wanted if n not in out]
            try:
                found = resolve_credentials(flow, path=default_credentials_path(doc.source))
            except ConfigError as exc:
                raise ConfigError(
                    f"credential set{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}:"
                    f" not saved in the studio (save credentials under that name), and {exc}"
                ) from None
            out.update({n: found[n] for n in missing})
        return out

    def _runner(self, run: _Run) -> FlowRunner:
        return FlowRunner(
            run.doc,
            credentials=self.credentials(run.doc),
            journal=Journal(run.journal_path, flow=run.doc.flow.name),
            executor=self.executor,
        )

    def running(self, path: Path) -> bool:
        run = self._runs.get(path)
        return run is not None and run.task is not None and not run.task.done()

    def start(self, path: Path, *, replay: list[str] | None = None) -> dict[str, Any]:
        """Run the flow once (or, with ``replay``, those failed or in-doubt messages)."""
        if self.running(path):
            raise ConfigError(f"{path.name} is running already")
        doc = load_flow(path)  # every problem of the file, located, before anything runs
        run = _Run(path=path, doc=doc, journal_path=self.journal_path(doc))
        run.lock = lock_journal(run.journal_path)
        replayed: list[str] = []
        try:
            run.runner = self._runner(run)
            if replay is not None:
                replayed = run.runner.journal.requeue(replay or None)
                if not replayed:
                    raise ConfigError("no failed or in-doubt message matches " + (", ".join(replay) or "the journal"))
        except BaseException:
            if run.runner is not None:
                run.runner.journal.close()
            run.lock.close()
            raise
        run.task = asyncio.get_running_loop().create_task(self._go(run, drain_only=replay is not None))
        self._runs[path] = run
        return {"started": True, "replayed": len(replayed)}

    async def _go(self, run: _Run, *, drain_only: bool) -> None:
        assert run.runner is not None
        try:
            if drain_only:
                await run.runner.drain(run.stop)
            else:
                await run.runner.run_once(run.stop)
        except SkiffError as exc:
            run.error = exc
        except Exception as exc:  # shown on the page, in one line; the journal keeps the rest
            run.error = ConfigError(f"{type(exc).__name__}: {exc}")
        finally:
            run.runner.journal.close()
            if run.lock is not None:
                run.lock.close()

    def status(self, path: Path) -> dict[str, Any]:
        """Per step: done, in flight, failed, in doubt; the failures; whether a run is going on."""
        doc = FlowDocument.load(path)
        flow = doc.flow
        run = self._runs.get(path)
        out: dict[str, Any] = {"running": self.running(path), "steps": {}, "failures": []}
        jpath = self.journal_path(doc)
        if jpath.is_file():
            journal = Journal(jpath, flow=flow.name)
            try:
                totals = journal.totals()
                none = StepTotals.of({})
                polled = sum(totals.get(flow.steps[0].id, none).by_status.values())
                out["steps"][flow.trigger.id] = {"done": polled, "inflight": 0, "failed": 0, "doubt": 0}
                for step in [*flow.steps, *flow.errorSteps]:
                    t = totals.get(step.id, none)
                    out["steps"][step.id] = {
                        "done": t.done,
                        "inflight": t.in_flight,
                        "failed": t.failed,
                        "doubt": t.in_doubt,
                    }
                out["results"] = totals.get(END, none).by_status.get("done", 0)
                out["failures"] = [_row_view(r) for r in journal.rows(statuses=_SHOWN)[-50:]]
            finally:
                journal.close()
        if run is not None and run.runner is not None:
            stats = run.runner.stats
            outcomes: dict[str, int] = {}
            for (_, outcome), n in stats.steps.items():
                outcomes[outcome] = outcomes.get(outcome, 0) + n
            parts = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
            out["summary"] = f"{stats.added} new message(s) from {stats.polled} poll(s)" + (
                f"; steps: {parts}" if parts else ""
            )
            if run.error is not None:
                out["error"] = error_view(run.error)
        return out

    def message(self, path: Path, message_id: str) -> dict[str, Any]:
        """One message where it stands, with its path through the steps."""
        doc = FlowDocument.load(path)
        jpath = self.journal_path(doc)
        if not jpath.is_file():
            raise ConfigError(f"{path.name} has not run yet")
        journal = Journal(jpath, flow=doc.flow.name)
        try:
            row = journal.get(message_id)
            if row is None:
                raise ConfigError(f"no message {message_id!r} in the journal of {path.name}")
            return {**_row_view(row), "path": [_row_view(r) for r in journal.path_of(row.root)]}
        finally:
            journal.close()

    async def aclose(self) -> None:
        for run in self._runs.values():
            run.stop.set()
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        if tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks, timeout=10)
