"""``skiff flow``: validate, run and operate flow files (a thin adapter over :mod:`skiff.flow`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["flow"]


@click.group()
def flow() -> None:
    """Flows: a trigger and a chain of steps with JSONata mappings (validate, run, status, errors, replay)."""


@flow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check flow files: each problem on one line FILE:LINE:COLUMN: PATH: MESSAGE (exit 2)."""
    from ..errors import ConfigError
    from ..flow import FlowDocument, FlowFileError, check_flow

    bad = 0
    for path in files:
        try:
            problems = check_flow(FlowDocument.load(path))
        except FlowFileError as exc:
            problems = exc.problems
        except ConfigError as exc:
            click.echo(f"{path}: {exc.message}", err=True)
            bad += 1
            continue
        for problem in problems:
            click.echo(str(problem), err=True)
        bad += bool(problems)
        if not problems:
            click.echo(f"{path}: ok")
    if bad:
        sys.exit(2)


@flow.command()
def schema() -> None:
    """The JSON Schema of a flow file (kept at schemas/flow.schema.json)."""
    from ..flow import flow_json_schema

    click.echo(json.dumps(flow_json_schema(), indent=2, sort_keys=True, ensure_ascii=False))


_JOURNAL = click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    help="The flow's SQLite journal (default: .skiff/flows/<name>.db).",
)
_CREDENTIALS = click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False),
    help="Credentials file, readable only by you (default: $SKIFF_CREDENTIALS, else credentials.yaml beside FILE).",
)


def _open(file: str, journal: str | None) -> tuple[Any, Any]:
    from ..flow import load_flow
    from ..flow.journal import Journal
    from ..flow.runner import default_journal_path

    doc = load_flow(file)
    path = Path(journal) if journal else default_journal_path(doc.flow)
    return doc, Journal(path, flow=doc.flow.name)


def _lock(journal: Any) -> Any:
    from ..flow.journal import lock_journal

    return lock_journal(journal.path)


def _runner(doc: Any, journal: Any, credentials_file: str | None, concurrency: int) -> Any:
    from ..flow import resolve_credentials
    from ..flow.credentials import default_credentials_path
    from ..flow.runner import FlowRunner

    path = credentials_file or default_credentials_path(doc.source)
    creds = resolve_credentials(doc.flow, path=path)
    return FlowRunner(doc, credentials=creds, journal=journal, concurrency=concurrency)


@flow.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--once", is_flag=True, help="Poll once, process everything that follows, and exit.")
@click.option("--every", help="Poll at this interval (e.g. 30s, 5m) instead of the trigger's schedule.")
@click.option("--concurrency", default=8, show_default=True, help="Calls in flight at once (rate limits still apply).")
@_JOURNAL
@_CREDENTIALS
def run_flow(
    file: str, once: bool, every: str | None, concurrency: int, journal: str | None, credentials_file: str | None
) -> None:
    """Run a flow in this process, journaled: SIGKILL-safe, resumable; stop with SIGINT/SIGTERM."""
    import asyncio
    import signal

    from ..errors import ConfigError
    from ..flow import parse_duration

    if once and every:
        raise ConfigError("--once and --every exclude each other")
    try:
        interval = parse_duration(every) if every else None
    except ValueError as exc:
        raise ConfigError(f"--every: {exc}") from None
    doc, jr = _open(file, journal)
    lock = _lock(jr)
    runner = _runner(doc, jr, credentials_file, concurrency)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runner:
            if once:
                await runner.run_once(stop)
            else:
                await runner.run_forever(stop, interval=interval)

    try:
        asyncio.run(go())
    finally:
        lock.close()
    stats = runner.stats
    outcomes: dict[str, int] = {}
    for (_, outcome), n in stats.steps.items():
        outcomes[outcome] = outcomes.get(outcome, 0) + n
    parts = [f"{n} {k}" for k, n in sorted(outcomes.items())]
    click.echo(
        f"{doc.flow.name}: {stats.added} new message(s) from {stats.polled} poll(s)"
        + (f"; {stats.recovered} resumed, {stats.held} held in doubt" if stats.recovered or stats.held else "")
        + (f"; steps: {', '.join(parts)}" if parts else ""),
        err=True,
    )


def _deployed_status(file: str, amqp_url: str, namespace: str, as_json: bool) -> None:
    import asyncio

    from ..flow import load_flow
    from ..flow.distributed import Topology, queue_depths

    topology = Topology(load_flow(file).flow, namespace)
    depths = asyncio.run(queue_depths(topology, amqp_url))
    if as_json:
        for name, (waiting, consumers) in depths.items():
            click.echo(json.dumps({"queue": name, "waiting": waiting, "consumers": consumers}))
        return
    width = max(len(n) for n in depths) + 2
    click.echo(f"{'queue':<{width}}{'waiting':>9}{'workers':>9}")
    for name, (waiting, consumers) in depths.items():
        click.echo(f"{name:<{width}}{waiting:>9}{consumers:>9}")


@flow.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per step.")
@click.option("--amqp", "amqp_url", help="A deployed flow: queue depths on this RabbitMQ instead of the journal.")
@click.option("--namespace", default="skiff.flow", show_default=True, help="With --amqp: as given to deploy.")
@_JOURNAL
def status(file: str, as_json: bool, amqp_url: str | None, namespace: str, journal: str | None) -> None:
    """Per step: done, in flight, failed, in doubt (deployed: waiting and unacked per queue)."""
    from ..flow.journal import END, StepTotals

    if amqp_url:
        _deployed_status(file, amqp_url, namespace, as_json)
        return
    doc, jr = _open(file, journal)
    totals = jr.totals()
    flow_model = doc.flow
    rows = []
    roots = len({r.root for r in jr.rows(step=flow_model.steps[0].id)})
    rows.append(
        {"step": flow_model.trigger.id, "kind": "trigger", "done": roots, "inFlight": 0, "failed": 0, "inDoubt": 0}
    )
    for step in [*flow_model.steps, *flow_model.errorSteps]:
        t = totals.get(step.id) or StepTotals.of({})
        c = t.by_status
        rows.append(
            {
                "step": step.id,
                "kind": "error step" if step in flow_model.errorSteps else "step",
                "done": t.done,
                "inFlight": t.in_flight,
                "failed": t.failed,
                "inDoubt": t.in_doubt,
                **({"filtered": c["filtered"]} if c.get("filtered") else {}),
                **({"skipped": c["skipped"]} if c.get("skipped") else {}),
                **({"routed": c["routed"]} if c.get("routed") else {}),
            }
        )
    results = totals[END].by_status.get("done", 0) if END in totals else 0
    jr.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        click.echo(json.dumps({"step": END, "kind": "results", "done": results}))
        return
    labels = [r["step"] + (" (trigger)" if r["kind"] == "trigger" else "") for r in rows]
    width = max(len(label) for label in [*labels, "results"]) + 2
    click.echo(f"{'step':<{width}}{'done':>8}{'in flight':>11}{'failed':>8}{'in doubt':>10}")
    for label, r in zip(labels, rows, strict=True):
        notes = ", ".join(f"{r[k]} {k}" for k in ("filtered", "skipped", "routed") if r.get(k))
        click.echo(
            f"{label:<{width}}{r['done']:>8}{r['inFlight']:>11}{r['failed']:>8}{r['inDoubt']:>10}"
            + (f"   ({notes})" if notes else "")
        )
    click.echo(f"{'results':<{width}}{results:>8}")


_AMQP = click.option("--amqp", "amqp_url", help="A deployed flow: its errors queue on this RabbitMQ.")
_NAMESPACE = click.option("--namespace", default="skiff.flow", show_default=True, help="With --amqp: as deployed.")


def _deployed_errors(file: str, amqp_url: str, namespace: str, replay: Any = None) -> list[Any]:
    import asyncio
    import os

    from ..flow import load_flow
    from ..flow.distributed import Topology, read_errors
    from ..worker import MessageCipher

    topology = Topology(load_flow(file).flow, namespace)
    cipher = MessageCipher(
        os.environ.get("ELASTICIO_MESSAGE_CRYPTO_PASSWORD"), os.environ.get("ELASTICIO_MESSAGE_CRYPTO_IV")
    )
    return asyncio.run(read_errors(topology, amqp_url, replay=replay, cipher=cipher))


@flow.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per failure.")
@_AMQP
@_NAMESPACE
@_JOURNAL
def errors(file: str, as_json: bool, amqp_url: str | None, namespace: str, journal: str | None) -> None:
    """Each failure on one line: id, step, status, error and the original input."""
    if amqp_url:
        for e in _deployed_errors(file, amqp_url, namespace):
            if as_json:
                item = {"id": e.message_id, "step": e.step, "error": {"name": e.name, "message": e.message}}
                click.echo(json.dumps({**item, "input": e.input}, ensure_ascii=False))
            else:
                body = json.dumps(e.input, ensure_ascii=False, separators=(",", ":"))
                click.echo(f"{e.message_id[:13]}  {e.step}  failed  {e.name}: {e.message}  input={body}")
        return
    _doc, jr = _open(file, journal)
    rows = jr.rows(statuses=("failed", "doubt", "routed", "skipped"))
    jr.close()
    for r in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": r.id,
                        "step": r.step,
                        "status": r.status,
                        "attempts": r.attempts,
                        "error": {"name": r.error_kind, "message": r.error},
                        "input": r.body,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            body = json.dumps(r.body, ensure_ascii=False, separators=(",", ":"))
            click.echo(f"{r.id[:13]}  {r.step}  {r.status}  {r.error_kind}: {r.error}  input={body}")
    if not rows and not as_json:
        click.echo("no failures", err=True)


@flow.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Every failed and in-doubt message.")
@_AMQP
@_NAMESPACE
@_JOURNAL
@_CREDENTIALS
def replay(
    file: str,
    ids: tuple[str, ...],
    replay_all: bool,
    amqp_url: str | None,
    namespace: str,
    journal: str | None,
    credentials_file: str | None,
) -> None:
    """Run failed or in-doubt messages again at their step (after a fix), with the flow file as it is now.

    Deployed (--amqp): the errors queue's messages go back to their step's queue, where the
    workers (restarted with the fixed file) take them.
    """
    import asyncio

    from ..errors import ConfigError

    if bool(ids) == replay_all:
        raise ConfigError("give message ids or --all")
    if amqp_url:

        def chosen(e: Any) -> bool:
            return replay_all or any(e.message_id.startswith(i) for i in ids)

        sent = [e for e in _deployed_errors(file, amqp_url, namespace, replay=chosen) if chosen(e)]
        if not sent:
            which = "in the errors queue" if replay_all else f"matches {', '.join(ids)}"
            raise ConfigError(f"no failed message {which}")
        click.echo(f"replayed {len(sent)} message(s) to their steps' queues", err=True)
        return
    doc, jr = _open(file, journal)
    try:
        lock = _lock(jr)
    except ConfigError:
        found = jr.requeue(None if replay_all else list(ids))
        jr.close()
        click.echo(f"queued {len(found)} message(s); the running skiff flow run takes them", err=True)
        return
    found = jr.requeue(None if replay_all else list(ids))
    if not found:
        jr.close()
        lock.close()
        which = "in the journal" if replay_all else f"matches {', '.join(ids)}"
        raise ConfigError(f"no failed or in-doubt message {which}")
    runner = _runner(doc, jr, credentials_file, 8)

    async def go() -> None:
        async with runner:
            await runner.drain()

    try:
        asyncio.run(go())
    finally:
        lock.close()
    outcomes: dict[str, int] = {}
    for (_, outcome), n in runner.stats.steps.items():
        outcomes[outcome] = outcomes.get(outcome, 0) + n
    click.echo(
        f"replayed {len(found)} message(s); steps: {', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}",
        err=True,
    )
    if outcomes.get("failed") or outcomes.get("doubt"):
        sys.exit(1)


@flow.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per step of the path.")
@_JOURNAL
def inspect(file: str, message_id: str, as_json: bool, journal: str | None) -> None:
    """One message's path through the steps: what each step got, did and passed on."""
    from ..errors import ConfigError

    _doc, jr = _open(file, journal)
    row = jr.get(message_id)
    if row is None:
        jr.close()
        raise ConfigError(f"no message {message_id!r} in {jr.path}")
    path = jr.path_of(row.root)
    jr.close()
    width = max(len(r.step) + (len(f"[{r.item}]") if r.item is not None else 0) for r in path) + 1
    for r in path:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": r.id,
                        "parent": r.parent,
                        "step": r.step,
                        "status": r.status,
                        "attempts": r.attempts,
                        "item": r.item,
                        "error": {"name": r.error_kind, "message": r.error} if r.error else None,
                        "body": r.body,
                        "detail": r.detail,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        body = json.dumps(r.body, ensure_ascii=False, separators=(",", ":"))
        if len(body) > 100:
            body = body[:97] + "..."
        extra = f"  {r.error_kind}: {r.error}" if r.error else ""
        if isinstance(r.detail, dict) and r.detail.get("found"):
            extra += "  (found by lookup)"
        step = r.step + (f"[{r.item}]" if r.item is not None else "")
        click.echo(f"{step:<{width}} {r.status:<9} {r.attempts:>2}×  {r.id[:13]}  {body}{extra}")


@flow.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--amqp", "amqp_url", required=True, help="RabbitMQ URL, e.g. amqp://guest:guest@127.0.0.1:5672/")
@click.option("--namespace", default="skiff.flow", show_default=True, help="Prefix of the exchange and queue names.")
@click.option("--state", help="Trigger snapshots: a path (SQLite), redis:// or postgresql:// URL (shared).")
@click.option("--once", is_flag=True, help="Declare, poll the trigger once, and exit.")
@click.option("--every", help="Poll at this interval instead of the trigger's schedule.")
@click.option("--delete", "delete_all", is_flag=True, help="Delete the flow's exchange and queues, and exit.")
@_CREDENTIALS
def deploy(
    file: str,
    amqp_url: str,
    namespace: str,
    state: str | None,
    once: bool,
    every: str | None,
    delete_all: bool,
    credentials_file: str | None,
) -> None:
    """Declare the flow on RabbitMQ (exchange, queues, bindings per step) and run its trigger's schedule.

    Each step then runs as `skiff worker --flow FILE --flow-step ID --amqp URL`, any number per step.
    """
    import asyncio
    import contextlib
    import signal
    import time

    from ..errors import ConfigError, SkiffError
    from ..flow import load_flow, parse_duration, resolve_credentials
    from ..flow.credentials import default_credentials_path
    from ..flow.distributed import Topology, declare, delete, publish_trigger
    from ..run import Executor
    from ..state import open_store

    if once and every:
        raise ConfigError("--once and --every exclude each other")
    doc = load_flow(file)
    topology = Topology(doc.flow, namespace)
    if delete_all:
        asyncio.run(delete(topology, amqp_url))
        click.echo(f"deleted {topology.exchange} and its queues", err=True)
        return
    creds = resolve_credentials(doc.flow, path=credentials_file or default_credentials_path(doc.source))
    interval = parse_duration(every) if every else doc.flow.trigger.schedule.interval

    async def go() -> None:
        await declare(topology, amqp_url)
        click.echo(
            f"declared {topology.exchange}: "
            + ", ".join(topology.queue(s.id) for s in doc.flow.steps)
            + f"; results in {topology.results_queue}, errors in {topology.errors_queue}",
            err=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        store = open_store(state or str(Path(".skiff") / "flows" / f"{doc.flow.name}.snapshots.db"))
        try:
            async with Executor() as executor:
                while not stop.is_set():
                    started = time.time()
                    try:
                        n = await publish_trigger(doc, topology, amqp_url, creds, store, executor=executor, stop=stop)
                        click.echo(f"trigger {doc.flow.trigger.id}: {n} message(s) published", err=True)
                    except SkiffError as err:
                        if once:
                            raise
                        click.echo(f"trigger {doc.flow.trigger.id}: {err.one_line()}", err=True)
                    if once:
                        return
                    wait = _next_wait(doc.flow, started, interval)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=wait)
        finally:
            await store.close()

    asyncio.run(go())


def _next_wait(flow_model: Any, started: float, interval: float | None) -> float:
    import time

    schedule = flow_model.trigger.schedule
    if interval is None and schedule.cron is not None:
        from datetime import UTC, datetime

        from croniter import croniter

        return max(0.0, float(croniter(schedule.cron, datetime.now(UTC)).get_next(float)) - time.time())
    return max(0.0, started + (interval or 60.0) - time.time())


def run_flow_step_worker(
    file: str,
    step_id: str,
    *,
    amqp_url: str,
    namespace: str,
    rate_limits: str | None,
    prefetch: int,
    credentials_file: str | None,
) -> None:
    """``skiff worker --flow FILE --flow-step ID``: one step of a deployed flow, until SIGTERM."""
    import asyncio
    import os
    import signal

    from ..flow import load_flow, resolve_credentials
    from ..flow.credentials import default_credentials_path
    from ..flow.distributed import run_flow_worker, unshared_lock_warning

    doc = load_flow(file)
    creds = resolve_credentials(doc.flow, path=credentials_file or default_credentials_path(doc.source))
    warning = unshared_lock_warning(doc.flow, step_id, rate_limits)
    if warning:
        click.echo(warning, err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        done = await run_flow_worker(
            doc,
            step_id,
            amqp_url=amqp_url,
            credentials=creds,
            namespace=namespace,
            rate_limits=rate_limits,
            prefetch=prefetch,
            stop=stop,
            crypto_password=os.environ.get("ELASTICIO_MESSAGE_CRYPTO_PASSWORD"),
            crypto_iv=os.environ.get("ELASTICIO_MESSAGE_CRYPTO_IV"),
            ready=lambda: click.echo(f"worker: flow {doc.flow.name} step {step_id}", err=True),
        )
        click.echo(f"worker: stopped after {done.processed} message(s)", err=True)

    asyncio.run(main())
