"""The flow file's vocabulary: pydantic models of a trigger, its chain of steps and their policies.

A flow file is YAML (see :mod:`skiff.flow.document`); these models are its meaning, and their
JSON Schema is published as ``schemas/flow.schema.json``. Secrets never live here: a step names a
credential set, and :mod:`skiff.flow.credentials` resolves it from the environment or from a
credentials file readable only by its owner.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..clock import backoff_delay, parse_duration

__all__ = [
    "CredentialSet",
    "ErrorPolicy",
    "Flow",
    "Lookup",
    "Position",
    "Schedule",
    "Step",
    "StudioLayout",
    "TriggerStep",
    "parse_duration",
]

STEP_ID = r"^[A-Za-z][A-Za-z0-9_]*$"
FLOW_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Schedule(_Model):
    """When the trigger polls: every interval, or on a cron expression (five fields, UTC)."""

    every: str | float | None = Field(None, description="An interval: '30s', '5m', '1h' or seconds.")
    cron: str | None = Field(None, description="A five-field cron expression, evaluated in UTC.")

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' or 'cron'")
        if self.every is not None:
            if parse_duration(self.every) <= 0:
                raise ValueError("'every' must be longer than 0 s")
        elif self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"cron {self.cron!r} must have five fields (minute hour day month weekday)")
        return self

    @property
    def interval(self) -> float | None:
        return parse_duration(self.every) if self.every is not None else None


class ErrorPolicy(_Model):
    """What happens when a step fails.

    Retryable failures (rate limited, transient) are retried ``retries`` times, waiting
    ``backoff`` then twice as long each time, never longer than ``maxBackoff`` (on RabbitMQ: the
    rebound limit and expirations); any other failure, or one that outlived its retries (reported
    as itself, "gave up after N rebounds"), then does ``then``: ``stop`` (the message stops here, kept with its input
    for ``skiff flow errors`` and ``replay``), ``skip`` (the step is skipped: its input goes on to
    the next step) or ``route`` (``{error, errorInput}`` goes to the error step named in ``route``).
    """

    retries: int = Field(5, ge=0, le=100, description="The rebound limit for retryable failures.")
    backoff: str | float = Field("2s", description="The first wait; each retry waits twice as long.")
    maxBackoff: str | float = Field("5m", description="No single wait is longer than this.")
    then: Literal["stop", "skip", "route"] = "stop"
    route: str | None = Field(None, description="The id of an error step (with then: route).")

    @field_validator("backoff", "maxBackoff")
    @classmethod
    def _duration(cls, value: str | float) -> str | float:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _route(self) -> ErrorPolicy:
        if self.then == "route" and not self.route:
            raise ValueError("then: route needs 'route': the id of an error step")
        if self.route and self.then != "route":
            raise ValueError("'route' is only used with then: route")
        return self

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based): backoff, doubled each time, at most maxBackoff."""
        return backoff_delay(parse_duration(self.backoff), attempt, parse_duration(self.maxBackoff))


class Lookup(_Model):
    """Look before acting: makes a creating step a lookup-or-create, safe to retry after a crash.

    ``function`` (an action of the same component, usually a list or get) runs with the input
    that ``mapping`` builds; the first record it emits that satisfies ``where`` (a JSONata
    predicate over the record, with ``$input`` the step's mapped input) is the step's output, and
    the step's own function runs only when none does.
    """

    function: str
    mapping: str | None = Field(None, description="JSONata building the lookup's input (default: the step's input).")
    where: str | None = Field(None, description="JSONata predicate over each found record; $input is the step's input.")


class _StepBase(_Model):
    id: str = Field(..., pattern=STEP_ID, description="Unique in the flow; names this step's body in the passthrough.")
    component: str = Field(..., description="A component name (skiff components) or folder.")
    function: str
    title: str | None = None
    credentials: str | None = Field(None, description="The name of a credential set (never the secrets themselves).")
    cfg: dict[str, Any] = Field(default_factory=dict, description="The function's non-secret fields.")


class TriggerStep(_StepBase):
    """The polling trigger that starts the flow."""

    id: str = Field("trigger", pattern=STEP_ID)
    schedule: Schedule = Field(default_factory=lambda: Schedule(every="60s"))
    body: dict[str, Any] = Field(default_factory=dict, description="The trigger's input message body.")


class Step(_StepBase):
    """One action in the chain: mapping → call → output (with the passthrough of earlier steps)."""

    mapping: str | None = Field(
        None, description="JSONata over the incoming body; $passthrough.<stepId> is an earlier step's body."
    )
    when: str | None = Field(None, description="JSONata condition; a message for which it is falsy stops here.")
    split: str | None = Field(None, description="JSONata giving an array: one message per item enters this step.")
    lookup: Lookup | None = None
    idempotent: bool | None = Field(
        None, description="Declare that the function may safely run twice (overrides what skiff infers)."
    )
    onError: ErrorPolicy = Field(default_factory=ErrorPolicy)


class CredentialSet(_Model):
    """Where the values of one credential set come from.

    ``env`` maps a credential field to the environment variable holding it; ``file`` names the
    section of the credentials file (default: the set's own name). Values from the environment
    win over the file's.
    """

    env: dict[str, str] = Field(default_factory=dict, description="field → environment variable")
    file: str | None = Field(None, description="The section of the credentials file (default: this set's name).")


class Position(_Model):
    """Where a step's node sits on the studio's canvas, in pixels from the top left."""

    x: int = Field(..., ge=0, le=100_000)
    y: int = Field(..., ge=0, le=100_000)


class StudioLayout(_Model):
    """What the studio's canvas keeps in the flow file; the runners never read it."""

    positions: dict[str, Position] = Field(
        default_factory=dict, description="step id → its node's place on the canvas (others are laid out)."
    )


class Flow(_Model):
    """A flow: a trigger and a chain of steps, with named credential sets and error steps."""

    name: str = Field(..., pattern=FLOW_NAME)
    description: str | None = None
    credentials: dict[str, CredentialSet] = Field(default_factory=dict)
    trigger: TriggerStep
    steps: list[Step] = Field(..., min_length=1)
    errorSteps: list[Step] = Field(default_factory=list, description="Steps that receive routed failures.")
    studio: StudioLayout | None = Field(None, description="The canvas layout (ignored when the flow runs).")

    def step(self, step_id: str) -> Step:
        for step in [*self.steps, *self.errorSteps]:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def position(self, step_id: str) -> int:
        """The index of a chain step; error steps come after the chain."""
        ids = [s.id for s in [*self.steps, *self.errorSteps]]
        return ids.index(step_id)
