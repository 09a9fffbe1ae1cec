"""The flow step a worker runs: a redelivered message of a non-idempotent step is held, not repeated."""

from __future__ import annotations

from typing import Any

from skiff.flow import load_flow
from skiff.flow.distributed import FlowStepCall, Topology
from skiff.flow.journal import END
from skiff.flow.step import compile_steps
from skiff.message import Message
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
