"""The run layer every transport shares: the CLI, the RabbitMQ worker, flows and the studio.

A transport is an adapter: it turns its input into a call and each event into its output. It
never re-implements cfg checks, emit behaviour, error mapping or snapshot handling.

Run one call and consume its events::

    from skiff.component import resolve_component
    from skiff.run import Executor, Event, Data, Error, End

    component = resolve_component("./shop")         # a component name or folder
    async with Executor() as executor:              # owns HTTP clients and rate limits: keep one per process
        async def sink(event: Event) -> None:
            if isinstance(event, Data):
                print(event.message.body)           # a Message: id, body, attachments, headers
            elif isinstance(event, Error):
                print(event.serialise())            # {"name", "message", "stack"}, secrets scrubbed
        result = await executor.run(component, "listOrders", cfg, Message(body={...}), emit=sink)
        result.data, result.error, result.exit_code

Events (:mod:`skiff.run.events`) are typed and map one to one to the elastic.io sailor's:
``Data(message)``, ``Error(error, input)``, ``Snapshot(snapshot)``, ``UpdateSnapshot(patch)``,
``Rebound(reason, input)``, ``UpdateKeys(keys)``, ``HttpReply(status, body, headers)``, and
``End()`` last, always. A transport that only writes bodies out may ask for ``Records``
(many records as unparsed JSON text) instead of one ``Data`` per record. ``event.kind`` is
the sailor's event name, ``event.payload`` what the sailor would publish. ``executor.run``
never raises for a failed call (``raise_errors=True`` to).

Run a trigger with a snapshot store and confirm delivery (commit-after-delivery)::

    from skiff.run import Session, transport, StopRequested
    from skiff.state import open_store

    async with Executor() as executor, open_store("redis://...") as store:
        session = Session(executor, component, "updatedOrders", cfg, store=store, flow_id="f1", stop=stop_event)
        async def deliver(event: Event) -> None: ...   # publish data (the Snapshot arrives after its commit)
        async def settle() -> None: ...                # wait until everything published so far is confirmed
        result = await session.run(None, transport(deliver, settle))   # or any object with deliver/settle

The session loads the snapshot at ``flow/component/function`` (:func:`snapshot_key`), awaits
``settle()`` before each commit, merges ``UpdateSnapshot`` into the stored snapshot, and raises
:class:`StopRequested` right after a commit once ``stop`` is set.

Handlers get a :class:`Context` (``ctx.http``, ``ctx.call``, ``ctx.poll``, ``ctx.emit`` ...).
A declarative request is a :class:`Call` built once (``Call.build(rendered_request,
pagination=..., records_path=...)``) and handed whole to the HTTP client.
"""

from __future__ import annotations

from .call import Call
from .checks import cfg_schema
from .clients import credential_key, secrets_of
from .context import Context
from .events import (
    Data,
    Emit,
    End,
    Error,
    Event,
    EventKind,
    HttpReply,
    Rebound,
    Records,
    Snapshot,
    UpdateKeys,
    UpdateSnapshot,
    serialise_error,
)
from .executor import Executor, RunResult
from .rebound import ReboundPolicy
from .session import Session, StopRequested, Transport, snapshot_key, transport

__all__ = [
    "Call",
    "Context",
    "Data",
    "Emit",
    "End",
    "Error",
    "Event",
    "EventKind",
    "Executor",
    "HttpReply",
    "Rebound",
    "ReboundPolicy",
    "Records",
    "RunResult",
    "Session",
    "Snapshot",
    "StopRequested",
    "Transport",
    "UpdateKeys",
    "UpdateSnapshot",
    "cfg_schema",
    "credential_key",
    "secrets_of",
    "serialise_error",
    "snapshot_key",
    "transport",
]
