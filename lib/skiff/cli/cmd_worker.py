"""``skiff worker``: run one flow step on RabbitMQ the way elastic.io's sailor does."""

from __future__ import annotations

import os

import click

__all__ = ["worker"]


@click.command()
@click.option(
    "--component", "component_ref", help="Component name or folder (default: $ELASTICIO_COMPONENT_PATH or .)."
)
@click.option("--step", "step_file", help="The step's {config, snapshot} from a JSON/YAML file instead of the API.")
@click.option("--attachments", help="Where emitted attachments go: a folder, or an http(s):// store URL.")
@click.option(
    "--service",
    type=click.Choice(["verifyCredentials", "getMetaModel", "selectModel"]),
    help="Run one service call, post it to $ELASTICIO_POST_RESULT_URL and exit.",
)
def worker(component_ref: str | None, step_file: str | None, attachments: str | None, service: str | None) -> None:
    """Consume $ELASTICIO_LISTEN_MESSAGES_ON and run $ELASTICIO_FUNCTION for each message (until SIGTERM)."""
    import asyncio
    import json
    import signal

    from ..attachments import AttachmentStore, FolderStore, HttpStore
    from ..worker import WorkerSettings, component_for, load_step_file, run_service, run_worker

    env = dict(os.environ)
    if service:
        settings = WorkerSettings.from_env(
            {**env, "ELASTICIO_FUNCTION": env.get("ELASTICIO_FUNCTION", "-")}, messaging=False
        )
        comp = component_for(settings, component_ref)
        result = asyncio.run(run_service(service, comp, env))
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    settings = WorkerSettings.from_env(env)
    comp = component_for(settings, component_ref)
    comp.function(settings.function)  # fail now, with a did-you-mean, not at the first message
    step = load_step_file(step_file) if step_file else None
    store: AttachmentStore | None = None
    if attachments:
        store = HttpStore(attachments) if attachments.startswith(("http://", "https://")) else FolderStore(attachments)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        done = await run_worker(
            settings,
            component=comp,
            step=step,
            attachments=store,
            stop=stop,
            ready=lambda: click.echo(
                f"worker: {comp.name}.{settings.function} on {settings.listen_messages_on}", err=True
            ),
        )
        click.echo(f"worker: stopped after {done.processed} message(s)", err=True)

    asyncio.run(main())
