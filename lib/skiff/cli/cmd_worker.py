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
    "--state",
    "state",
    help="Where the startup hook's data is kept: a path (SQLite), redis:// or postgresql:// URL "
    "(default: the platform API; with --step: $SKIFF_STATE or ./.skiff/state.db).",
)
@click.option(
    "--service",
    type=click.Choice(["verifyCredentials", "getMetaModel", "selectModel"]),
    help="Run one service call, post it to $ELASTICIO_POST_RESULT_URL and exit.",
)
@click.option("--flow", "flow_file", help="Run a step of this flow (deployed with skiff flow deploy) instead.")
@click.option("--flow-step", help="With --flow: the step's id.")
@click.option("--amqp", "amqp_url", help="With --flow: the RabbitMQ URL (default: $ELASTICIO_AMQP_URI).")
@click.option("--namespace", default="skiff.flow", show_default=True, help="With --flow: as given to deploy.")
@click.option("--rate-limits", help="With --flow: share rate-limit windows with other workers (redis://...).")
@click.option("--prefetch", default=1, show_default=True, help="With --flow: messages in flight per worker.")
@click.option("--credentials", "credentials_file", help="With --flow: the credentials file (mode 600).")
def worker(
    component_ref: str | None,
    step_file: str | None,
    attachments: str | None,
    state: str | None,
    service: str | None,
    flow_file: str | None,
    flow_step: str | None,
    amqp_url: str | None,
    namespace: str,
    rate_limits: str | None,
    prefetch: int,
    credentials_file: str | None,
) -> None:
    """Consume $ELASTICIO_LISTEN_MESSAGES_ON and run $ELASTICIO_FUNCTION for each message (until SIGTERM).

    With --flow FILE --flow-step ID: run that step of a flow deployed by skiff flow deploy.
    """
    if flow_file:
        from ..errors import ConfigError
        from .cmd_flow import run_flow_step_worker

        url = amqp_url or os.environ.get("ELASTICIO_AMQP_URI")
        if not flow_step or not url:
            raise ConfigError("--flow needs --flow-step ID and --amqp URL (or $ELASTICIO_AMQP_URI)")
        run_flow_step_worker(
            flow_file,
            flow_step,
            amqp_url=url,
            namespace=namespace,
            rate_limits=rate_limits,
            prefetch=prefetch,
            credentials_file=credentials_file,
        )
        return
    import asyncio
    import json
    import signal

    from ..attachments import AttachmentStore, FolderStore, HttpStore
    from ..worker import WorkerSettings, component_for, load_step_file, run_service, run_worker

    env = dict(os.environ)
    if service:
        # As the sailor's runService: no step identity is needed, only the cfg and the result URL.
        from pathlib import Path

        from ..component import load_component, resolve_component

        folder = Path(env.get("ELASTICIO_COMPONENT_PATH") or ".")
        comp = resolve_component(component_ref) if component_ref else load_component(folder)
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
        hooks_store = None
        if state:
            from ..state import open_store
            from ..worker import StoreHooksData

            hooks_store = open_store(state)
        try:
            done = await run_worker(
                settings,
                component=comp,
                step=step,
                attachments=store,
                stop=stop,
                ready=lambda: click.echo(
                    f"worker: {comp.name}.{settings.function} on {settings.listen_messages_on}", err=True
                ),
                hooks_data=StoreHooksData(hooks_store, settings.flow_id) if hooks_store else None,
            )
        finally:
            if hooks_store is not None:
                await hooks_store.close()
        if settings.hook_shutdown:
            click.echo(f"worker: {comp.name}.{settings.function} shut down; startup data deleted", err=True)
        else:
            click.echo(f"worker: stopped after {done.processed} message(s)", err=True)

    try:  # libuv's event loop when installed: less CPU per message than asyncio's own
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
