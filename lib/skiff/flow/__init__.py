"""Flows: a trigger and a chain of steps with JSONata mappings, in one YAML file.

The flow file (see ``examples/`` and ``schemas/flow.schema.json``)::

    name: shop-orders-to-invoicing
    credentials:                        # named sets; values from env vars or the credentials file
      shop: {env: {baseUrl: SHOP_URL, apiKey: SHOP_API_KEY}}
    trigger: {component: shop, function: newOrders, credentials: shop, schedule: {every: 30s}}
    steps:
      - id: client
        component: invoicing
        function: createClient
        credentials: invoicing
        mapping: '{"name": Customer.Name, "email": Customer.Email}'   # JSONata over the body
        lookup: {function: listClients, mapping: '{"email": email}'}  # lookup-or-create
        onError: {retries: 5, backoff: 2s, then: stop}
    studio:                             # optional: where the canvas shows each step (runners ignore it)
      positions: {trigger: {x: 20, y: 20}, client: {x: 260, y: 120}}

An expression sees the incoming body as ``$`` and the earlier steps' bodies as
``$passthrough.<stepId>`` (the trigger's under its id, ``trigger`` by default).

Public API (what the CLI and the studio use):

- :class:`Flow`, :class:`TriggerStep`, :class:`Step`, :class:`Lookup`, :class:`ErrorPolicy`,
  :class:`Schedule`, :class:`CredentialSet`, :class:`StudioLayout`, :class:`Position`: the
  pydantic models; ``Flow.model_json_schema()`` is the published schema (:func:`flow_json_schema`).
- :class:`FlowDocument`: ``FlowDocument.load(path)`` / ``FlowDocument.loads(text)`` parse and
  validate the file's shape (a :class:`FlowFileError` lists each :class:`Problem` with line and
  column); ``doc.flow`` is the model, ``doc.to_dict()`` the file as plain JSON;
  ``doc.dumps()`` is the loaded text byte for byte while unchanged; ``doc.with_flow(flow)`` returns a
  document holding an edited flow (a :class:`Flow` or its JSON) with the comments, key order,
  quoting and block scalars of the unchanged parts kept; ``doc.save(path)`` writes it atomically.
  :func:`dump_flow` writes a new flow in the canonical layout (two-space indents, multi-line
  expressions as ``|`` blocks); ``FlowDocument.loads(dump_flow(f)).dumps() == dump_flow(f)``.
- :func:`check_flow` (every problem of a loaded document beyond its shape: components,
  functions, cfg fields, inline credentials, JSONata) and :func:`load_flow` (load + check, raising
  :class:`FlowFileError`), as ``skiff flow validate`` prints them.
- :class:`Expression` and :class:`MappingError`: a compiled JSONata expression; its errors name
  the step, the field, the expression and the position.
- :func:`resolve_credentials`: the values of the credential sets a flow names.

Running (submodules, imported on use):

- :mod:`skiff.flow.runner`: ``FlowRunner(doc, credentials=..., journal=PATH)`` runs a flow
  embedded: ``run_once()``, ``run_forever(stop)``, or ``recover()`` + ``poll()`` + ``drain()``;
  ``on_change(step, outcome, row)`` reports progress.
- :mod:`skiff.flow.journal`: ``Journal(path, flow=name)``, the SQLite journal (messages per step
  with their status, snapshots, attachments); ``counts()``, ``rows()``, ``path_of(root)``,
  ``requeue(ids)`` are what ``status``, ``errors``, ``inspect`` and ``replay`` read and write.
- :mod:`skiff.flow.step`: ``StepLogic``, one compiled step (split, when, mapping, lookup-or-create
  call), shared by the runner and the RabbitMQ worker.
- :mod:`skiff.flow.distributed`: ``Topology`` (names of the exchange, queues and keys),
  ``declare``, ``publish_trigger`` and ``run_flow_worker`` behind ``skiff flow deploy`` and
  ``skiff worker --flow``.
"""

from __future__ import annotations

from typing import Any

from ..validation import DEFAULT_DRAFT
from .check import check_flow, load_flow
from .credentials import resolve_credentials
from .document import FlowDocument, FlowFileError, Problem, dump_flow
from .mapping import Expression, MappingError
from .model import (
    CredentialSet,
    ErrorPolicy,
    Flow,
    Lookup,
    Position,
    Schedule,
    Step,
    StudioLayout,
    TriggerStep,
    parse_duration,
)

__all__ = [
    "CredentialSet",
    "ErrorPolicy",
    "Expression",
    "Flow",
    "FlowDocument",
    "FlowFileError",
    "Lookup",
    "MappingError",
    "Position",
    "Problem",
    "Schedule",
    "Step",
    "StudioLayout",
    "TriggerStep",
    "check_flow",
    "dump_flow",
    "flow_json_schema",
    "load_flow",
    "parse_duration",
    "resolve_credentials",
]


def flow_json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow file (kept at ``schemas/flow.schema.json``)."""
    schema = Flow.model_json_schema()
    schema["$schema"] = DEFAULT_DRAFT
    schema["$id"] = "https://skiff.dev/schemas/flow.schema.json"
    schema["title"] = "skiff flow file"
    return schema
