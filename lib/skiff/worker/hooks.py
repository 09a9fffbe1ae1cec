"""A step's hooks, run as the sailor runs them: ``startup`` per flow start, ``init`` per worker,
``shutdown`` per flow stop.

- Before the worker consumes: with ``STARTUP_REQUIRED``, ``startup(ctx, cfg)`` runs and what it
  returns is kept as the flow's startup data (``{}`` when it returns nothing, or when the module
  defines no ``startup``); then ``init(ctx, cfg)`` runs (its result is not used). A failure
  stops the worker before it takes a message.
- With ``HOOK_SHUTDOWN`` the worker consumes nothing: it reads the startup data, calls
  ``shutdown(ctx, cfg, startup_data)``, deletes the data and exits.

Where the startup data is kept (:class:`HooksData`): on the platform, its hooks data API
``{API_URI}/sailor-support/hooks/task/{FLOW_ID}/startup/data`` (``POST``, ``GET``, ``DELETE``
with the step's API credentials; data an earlier start left, a ``409``, is replaced); for a
standalone worker, a state store (:class:`StoreHooksData`, key ``{FLOW_ID}/startup-data``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Protocol

from ..component import Component, Function
from ..component.handlers import HookKind
from ..errors import ApiError, AuthError, SkiffError, TransientError
from ..state import SnapshotStore
from .settings import WorkerSettings

__all__ = ["ApiHooksData", "HooksData", "StepHooks", "StoreHooksData", "startup_data_key"]

log = logging.getLogger("skiff.worker")


class HooksData(Protocol):
    """Where a flow's startup data lives between ``startup`` and ``shutdown``."""

    async def create(self, data: Any) -> None: ...

    async def retrieve(self) -> Any: ...

    async def delete(self) -> None: ...


class ApiHooksData:
    """The platform's hooks data API; 5xx and connection failures are retried (the sailor's 3 tries)."""

    def __init__(self, settings: WorkerSettings, *, attempts: int = 3, delay: float = 0.1) -> None:
        self.url = f"{settings.api_uri.rstrip('/')}/sailor-support/hooks/task/{settings.flow_id}/startup/data"
        self._auth = (settings.api_username, settings.api_key)
        self._attempts = max(1, attempts)
        self._delay = delay

    async def create(self, data: Any) -> None:
        response = await self._request("POST", data, ok_conflict=True)
        if response.status_code == 409:  # left by an earlier start: replace it, as the sailor does
            log.warning("startup data already exists; replacing it")
            await self.delete()
            await self._request("POST", data)

    async def retrieve(self) -> Any:
        response = await self._request("GET")
        return response.json() if response.content else None

    async def delete(self) -> None:
        await self._request("DELETE")

    async def _request(self, method: str, data: Any = None, *, ok_conflict: bool = False) -> Any:
        import httpx

        what = f"{method} {self.url}"
        async with httpx.AsyncClient(timeout=30) as client:
            for attempt in range(1, self._attempts + 1):
                try:
                    response = await client.request(
                        method, self.url, json=data if method == "POST" else None, auth=self._auth
                    )
                except httpx.HTTPError as exc:
                    problem = f"{what}: {type(exc).__name__}"
                else:
                    status = response.status_code
                    if status < 400 or (ok_conflict and status == 409):
                        return response
                    if status in (401, 403):
                        raise AuthError(f"{what}: HTTP {status}", status=status)
                    if status < 500:
                        raise ApiError(f"{what}: HTTP {status}{_reason(response)}", status=status)
                    problem = f"{what}: HTTP {status}"
                if attempt < self._attempts:
                    await asyncio.sleep(self._delay * attempt)
        raise TransientError(problem)


def _reason(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f" ({' '.join(str(error).split())[:200]})" if error else ""


def startup_data_key(flow_id: str) -> str:
    """The state-store key of a flow's startup data (two parts: never a trigger snapshot's key)."""
    return f"{flow_id or 'default'}/startup-data"


class StoreHooksData:
    """The startup data in a state store (SQLite, Redis, PostgreSQL), for a worker without the platform."""

    def __init__(self, store: SnapshotStore, flow_id: str) -> None:
        self.store = store
        self.key = startup_data_key(flow_id)

    async def create(self, data: Any) -> None:
        await self.store.put(self.key, {"data": data})

    async def retrieve(self) -> Any:
        kept = await self.store.get(self.key)
        if kept is None:
            from ..errors import ConfigError

            raise ConfigError(f"no startup data under {self.key!r} (did a start with STARTUP_REQUIRED run?)")
        return kept.get("data")

    async def delete(self) -> None:
        await self.store.delete(self.key)


class StepHooks:
    """The hooks of one step's function, with its cfg; errors name the component, function and hook."""

    def __init__(self, settings: WorkerSettings, component: Component, cfg: dict[str, Any], data: HooksData) -> None:
        self.settings = settings
        self.component = component
        self.function: Function = component.function(settings.function)
        self.cfg = cfg
        self.data = data

    async def before_consuming(self) -> None:
        """``startup`` (with ``STARTUP_REQUIRED``), then ``init``: the sailor's order."""
        if self.settings.startup_required:
            result = await self._call("startup")
            startup_data = {} if result is None or result in ({}, [], "") else result
            await self._guarded("startup data", self.data.create(startup_data))
        await self._call("init")

    async def shutdown(self) -> None:
        """``HOOK_SHUTDOWN``: ``shutdown(ctx, cfg, startup_data)``, then the data is deleted."""
        startup_data = await self._guarded("startup data", self.data.retrieve())
        await self._call("shutdown", startup_data)
        await self._guarded("startup data", self.data.delete())

    async def _call(self, kind: HookKind, *args: Any) -> Any:
        from ..run import Executor

        async def call() -> Any:
            if self.function.hook(kind) is None:  # checked here: a misfit is named as the hook's
                return None
            async with Executor(unknown_cfg="ignore") as executor:
                return await executor.hook(self.component, self.function, kind, self.cfg, *args)

        return await self._guarded(f"hook {kind}", call())

    async def _guarded(self, what: str, work: Any) -> Any:
        try:
            return await work
        except SkiffError as err:
            # One line naming where it failed: the component, its function and the hook.
            fn = self.function
            err.message = str(err)
            err.args = (err.message,)
            err.where = f"component {self.component.name!r}, {fn.kind} {fn.name!r}, {what}"
            raise


async def report_error(settings: WorkerSettings, err: SkiffError) -> None:
    """Publish a hook's failure to the step's error key, as the sailor does (best effort).

    On the platform the error queue is what the user sees of a step that would not start.
    """
    if not settings.amqp_uri or not settings.error_routing_key:
        return
    import aio_pika

    from .crypto import MessageCipher
    from .protocol import error_payload
    from .worker import error_dict

    cipher = MessageCipher(settings.message_crypto_password, settings.message_crypto_iv)
    body = error_payload(cipher, error_dict(err), None, 1)
    headers = {**settings.headers(), "messageId": str(uuid.uuid4())}
    try:
        async with asyncio.timeout(30):
            connection = await aio_pika.connect(settings.amqp_uri)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(settings.publish_messages_to, ensure=False)
                message = aio_pika.Message(body, headers=headers, content_type="application/json")
                await exchange.publish(message, routing_key=settings.error_routing_key, mandatory=True)
    except Exception as exc:  # the one line about the hook matters more than this report
        log.warning("could not publish the hook's error to %s: %s", settings.error_routing_key, exc)
