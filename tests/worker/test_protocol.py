"""Rebound expirations: the sailor's doubling, capped only when a step sets a maximum (flows: maxBackoff)."""

from __future__ import annotations

from skiff.flow.model import ErrorPolicy
from skiff.worker import WorkerSettings
from skiff.worker.protocol import rebound


def settings(**extra: int | None) -> WorkerSettings:
    return WorkerSettings(
        function="f",
        amqp_uri="",
        listen_messages_on="",
        publish_messages_to="",
        data_routing_key="d",
        error_routing_key="e",
        rebound_routing_key="r",
        snapshot_routing_key="s",
        **extra,  # type: ignore[arg-type]
    )


def expirations(s: WorkerSettings) -> list[int | None]:
    out = []
    for previous in range(s.rebound_limit):
        headers = {"messageId": "m"} if previous == 0 else {"messageId": "m", "reboundIteration": previous}
        outgoing = rebound(s, b"{}", headers, "503")
        assert outgoing is not None
        out.append(outgoing.expiration_ms)
    return out


def test_rebounds_double_without_a_maximum_as_the_sailor_does() -> None:
    assert expirations(settings(rebound_initial_expiration=1000, rebound_limit=6)) == [
        1000,
        2000,
        4000,
        8000,
        16000,
        32000,
    ]


def test_no_rebound_waits_longer_than_the_maximum_by_the_rule_of_error_policy() -> None:
    s = settings(rebound_initial_expiration=1000, rebound_max_expiration=5000, rebound_limit=6)
    assert expirations(s) == [1000, 2000, 4000, 5000, 5000, 5000]
    policy = ErrorPolicy(retries=6, backoff="1s", maxBackoff="5s")
    assert expirations(s) == [round(policy.delay(n) * 1000) for n in range(1, 7)]


def test_the_maximum_is_read_from_the_environment_and_unset_by_default() -> None:
    names = ("FLOW_ID", "EXEC_ID", "STEP_ID", "CONTAINER_ID", "WORKSPACE_ID", "USER_ID", "COMP_ID", "FUNCTION")
    base = {"ELASTICIO_" + k: "x" for k in (*names, "API_URI", "API_USERNAME", "API_KEY")}
    assert WorkerSettings.from_env(base, messaging=False).rebound_max_expiration is None
    env = {**base, "ELASTICIO_REBOUND_MAX_EXPIRATION": "60000"}
    assert WorkerSettings.from_env(env, messaging=False).rebound_max_expiration == 60000
