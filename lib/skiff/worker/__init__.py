"""``skiff worker``: the elastic.io sailor protocol on RabbitMQ (aio-pika).

A worker runs one flow step: it consumes the step's queue, decrypts each message
(AES-256-CBC, :mod:`.crypto`), runs one call of the component's action or trigger through the
shared executor, and publishes what the call emits (data, errors, rebounds, snapshots, HTTP
replies) on a publisher-confirm channel, acking the input only after the broker confirmed them.
The wire format is sailor-nodejs 2.7.8's (:mod:`.protocol`); the environment is ``ELASTICIO_*``
(:class:`WorkerSettings`).

Entry points, usable from Python (a flow deploying its own steps):

- :func:`run_worker` ``(settings, component=..., step=..., stop=...)``: run one step until
  ``stop`` is set; ``step`` (:class:`StepData`: cfg, snapshot, passthrough) defaults to the
  platform API's ``GET {API_URI}/v1/tasks/{FLOW_ID}/steps/{STEP_ID}``. The function's hooks
  run as the sailor runs them (:mod:`.hooks`): ``startup`` and ``init`` before the first
  message, and with ``HOOK_SHUTDOWN`` only ``shutdown``, nothing consumed.
- :func:`run_step`: the same from plain values (component, function, cfg, queue, exchange,
  routing keys), for steps that skiff itself wires on RabbitMQ.
- :func:`run_service` ``(method, component, env)``: verifyCredentials, getMetaModel or
  selectModel, posted to ``ELASTICIO_POST_RESULT_URL``.
- :class:`Worker`: the object behind them (``processed`` counts acked messages).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..attachments import AttachmentStore
from ..component import Component, load_component, resolve_component
from .crypto import DecodeError, MessageCipher
from .hooks import ApiHooksData, HooksData, StepHooks, StoreHooksData
from .service import SERVICE_METHODS, run_service
from .settings import WorkerSettings
from .step import StepData, fetch_step, load_step_file
from .worker import Worker

__all__ = [
    "SERVICE_METHODS",
    "ApiHooksData",
    "DecodeError",
    "HooksData",
    "MessageCipher",
    "StepData",
    "StoreHooksData",
    "Worker",
    "WorkerSettings",
    "component_for",
    "fetch_step",
    "load_step_file",
    "run_service",
    "run_step",
    "run_worker",
]


def component_for(settings: WorkerSettings, ref: str | None = None) -> Component:
    """The component a worker runs: ``ref`` (a name or folder), else ``ELASTICIO_COMPONENT_PATH``, else cwd."""
    if ref:
        return resolve_component(ref)
    return load_component(Path(settings.component_path or "."))


async def run_worker(
    settings: WorkerSettings,
    *,
    component: Component | None = None,
    step: StepData | None = None,
    attachments: AttachmentStore | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
    hooks_data: HooksData | None = None,
) -> Worker:
    """Run one step until ``stop`` is set; returns the finished :class:`Worker`.

    ``hooks_data`` keeps the startup data between ``startup`` and ``shutdown``; by default the
    platform's hooks data API when the step came from the platform, else the state store
    (``$SKIFF_STATE`` or ``./.skiff/state.db``). With ``HOOK_SHUTDOWN`` only ``shutdown`` runs.
    A failing hook raises (after its error went to the step's error key): nothing is consumed.
    """
    comp = component or component_for(settings)
    data = step if step is not None else await fetch_step(settings)
    worker = Worker(settings, comp, data, attachments=attachments)
    await _run_hooks(settings, comp, data, hooks_data, from_api=step is None)
    if not settings.hook_shutdown:
        await worker.run(stop or asyncio.Event(), ready=ready)
    return worker


async def _run_hooks(
    settings: WorkerSettings, component: Component, step: StepData, data: HooksData | None, *, from_api: bool
) -> None:
    from ..errors import SkiffError
    from .hooks import report_error

    store = None
    if data is None and not from_api and (settings.hook_shutdown or settings.startup_required):
        from ..state import default_location, open_store

        store = open_store(default_location())
        data = StoreHooksData(store, settings.flow_id)
    hooks = StepHooks(settings, component, dict(step.config), data or ApiHooksData(settings))
    try:
        if settings.hook_shutdown:
            await hooks.shutdown()
        else:
            await hooks.before_consuming()
    except SkiffError as err:
        if not settings.hook_shutdown:  # the sailor reports it too, and not in shutdown mode
            await report_error(settings, err)
        raise
    finally:
        if store is not None:
            await store.close()


async def run_step(
    component: Component | str,
    function: str,
    config: dict[str, Any],
    *,
    amqp_uri: str,
    queue: str,
    exchange: str,
    data_routing_key: str,
    error_routing_key: str,
    rebound_routing_key: str = "",
    snapshot_routing_key: str = "",
    snapshot: dict[str, Any] | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
    **settings: Any,
) -> Worker:
    """One step from plain values; ``settings`` are further :class:`WorkerSettings` fields."""
    comp = resolve_component(component) if isinstance(component, str) else component
    ws = WorkerSettings(
        function=function,
        amqp_uri=amqp_uri,
        listen_messages_on=queue,
        publish_messages_to=exchange,
        data_routing_key=data_routing_key,
        error_routing_key=error_routing_key,
        rebound_routing_key=rebound_routing_key or error_routing_key,
        snapshot_routing_key=snapshot_routing_key or error_routing_key,
        **settings,
    )
    return await run_worker(
        ws, component=comp, step=StepData(config=config, snapshot=dict(snapshot or {})), stop=stop, ready=ready
    )
