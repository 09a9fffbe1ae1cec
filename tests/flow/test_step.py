"""The failure rule shared by the embedded runner and the RabbitMQ workers."""

from __future__ import annotations

from skiff.errors import ConfigError, TransientError
from skiff.flow.model import ErrorPolicy
from skiff.flow.step import failure_outcome, routed_error


def test_retryable_failures_retry_until_their_retries_are_used_then_follow_then() -> None:
    skip = ErrorPolicy(retries=2, then="skip")
    assert [failure_outcome(skip, TransientError("x"), n) for n in (1, 2, 3)] == ["retry", "retry", "skip"]
    route = ErrorPolicy(retries=0, then="route", route="report")
    assert failure_outcome(route, TransientError("x"), 1) == "route"
    assert failure_outcome(ErrorPolicy(retries=5), ConfigError("bad"), 1) == "stop"  # not retryable: at once


def test_the_error_step_gets_the_failure_and_the_input() -> None:
    assert routed_error(ConfigError("bad"), {"a": 1}) == {
        "error": {"name": "ConfigError", "message": "bad"},
        "errorInput": {"a": 1},
    }
