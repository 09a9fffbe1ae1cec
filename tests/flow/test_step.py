"""The failure rule shared by the embedded runner and the RabbitMQ workers."""

from __future__ import annotations

from skiff.errors import ConfigError, RateLimited, TransientError
from skiff.flow.model import ErrorPolicy
from skiff.flow.step import failure_outcome, final_failure, routed_error
from skiff.run import serialise_error


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


def test_a_retryable_failure_that_used_up_its_rebounds_reports_itself_and_that_it_gave_up() -> None:
    policy = ErrorPolicy(retries=2)
    err = TransientError("503 from /products/7: Service Unavailable", where="articleGetArticle")
    assert failure_outcome(policy, err, 3) == "stop"
    final = final_failure(policy, err, 3)
    assert isinstance(final, TransientError) and not final.retryable
    assert serialise_error(final)["name"] == "TransientError"
    assert serialise_error(final)["message"] == (
        "articleGetArticle: 503 from /products/7: Service Unavailable (gave up after 2 rebounds)"
    )
    assert err.retryable and str(err).endswith("Service Unavailable")  # the original is left as it was
    limited = final_failure(ErrorPolicy(retries=1, then="skip"), RateLimited("429 from /x", retry_after=9.0), 2)
    assert isinstance(limited, RateLimited) and limited.retry_after == 9.0
    assert str(limited) == "429 from /x (gave up after 1 rebound)"


def test_a_failure_that_was_not_retried_is_reported_as_it_is() -> None:
    bad = ConfigError("bad")
    assert final_failure(ErrorPolicy(retries=5), bad, 1) is bad
    retryable = TransientError("x")
    assert final_failure(ErrorPolicy(retries=5), retryable, 2) is retryable  # still retrying: unchanged


def test_error_policy_waits_double_up_to_max_backoff() -> None:
    policy = ErrorPolicy(backoff="1s", maxBackoff="5s")
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
