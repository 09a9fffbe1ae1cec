"""The flow step a worker runs: a redelivered message of a non-idempotent step is held, not repeated."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from skiff.errors import TransientError
from skiff.flow import load_flow
from skiff.flow.distributed import FlowStepCall, Topology
from skiff.flow.journal import END
from skiff.flow.model import ErrorPolicy
from skiff.flow.step import compile_steps
from skiff.message import Message
from skiff.run import serialise_error
from tests.flow.conftest import EXAMPLE_A


class NoCalls:
    """An executor that must not be used."""

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the step was called")

    async def aclose(self) -> None:
        return None


async def test_a_redelivered_message_of_a_creating_step_is_held() -> None:
    doc = load_flow(EXAMPLE_A)
    flow = doc.flow.model_copy(deep=True)
    flow.steps[1].lookup = None  # createConfirmation without its lookup: not idempotent
    steps = compile_steps(flow, {"billbee": {}, "billomat": {}}, EXAMPLE_A.parent, end=END)
    assert not steps["confirmation"].idempotent and steps["complete"].idempotent
    events: list[Any] = []

    async def emit(event: Any) -> None:
        events.append(event)

    call = FlowStepCall(steps["confirmation"], Topology(flow), NoCalls())
    message = Message(body={"id": "1"}, metadata={"redelivered": True})
    await call.run({}, message, {}, emit)
    assert [e.kind for e in events] == ["error"]
    assert events[0].payload.kind == "InDoubt" and "redelivered" in str(events[0].payload)


class Fails:
    """An executor whose every call fails with a 503 that outlived the HTTP retries."""

    async def run(self, component: Any, function: str, cfg: Any, message: Any, *, emit: Any) -> None:
        error = TransientError("503 from /products/7: Service Unavailable", where=function)
        await emit(SimpleNamespace(kind="error", payload={"error": error}))

    async def aclose(self) -> None:
        return None


async def test_a_stop_after_the_last_rebound_carries_the_real_failure_not_the_rebound_limit() -> None:
    doc = load_flow(EXAMPLE_A)
    flow = doc.flow.model_copy(deep=True)
    flow.steps[3].onError = ErrorPolicy(retries=2, backoff="0.1s")  # pdf: then stop (the default)
    steps = compile_steps(flow, {"billbee": {}, "billomat": {}}, EXAMPLE_A.parent, end=END)
    call = FlowStepCall(steps["pdf"], Topology(flow), Fails())
    for rebounds, retryable in ((None, True), (1, True), (2, False)):
        events: list[Any] = []

        async def emit(event: Any, out: list[Any] = events) -> None:
            out.append(event)

        metadata = {} if rebounds is None else {"rebounds": rebounds}
        await call.run({}, Message(body={"id": "1"}, metadata=metadata), {}, emit)
        [event] = events
        # Retryable: the worker rebounds it. After the second rebound: to the errors queue as it is.
        assert event.kind == "error" and event.payload.retryable is retryable
    assert serialise_error(event.payload) == {
        "name": "TransientError",
        "message": "getConfirmationPdf: 503 from /products/7: Service Unavailable (gave up after 2 rebounds)",
        "stack": "skiff.errors.TransientError: getConfirmationPdf: 503 from /products/7: Service Unavailable"
        " (gave up after 2 rebounds)",
    }
