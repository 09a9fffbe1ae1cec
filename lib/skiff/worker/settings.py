"""The ``ELASTICIO_*`` environment of a step, read once, with sailor-nodejs' defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import ConfigError

__all__ = ["PREFIX", "WorkerSettings"]

PREFIX = "ELASTICIO_"

_ALWAYS = (
    "FLOW_ID",
    "EXEC_ID",
    "STEP_ID",
    "CONTAINER_ID",
    "WORKSPACE_ID",
    "USER_ID",
    "COMP_ID",
    "FUNCTION",
    "API_URI",
    "API_USERNAME",
    "API_KEY",
)
_MESSAGING = (
    "AMQP_URI",
    "LISTEN_MESSAGES_ON",
    "PUBLISH_MESSAGES_TO",
    "DATA_ROUTING_KEY",
    "ERROR_ROUTING_KEY",
    "REBOUND_ROUTING_KEY",
    "SNAPSHOT_ROUTING_KEY",
    "MESSAGE_CRYPTO_IV",
    "MESSAGE_CRYPTO_PASSWORD",
)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """One step's settings. Field names are the variables without ``ELASTICIO_``, lower case.

    Build it with :meth:`from_env` on the platform, or directly from Python (a flow deploying
    its own steps); the defaults are sailor-nodejs 2.7.8's.
    """

    function: str
    amqp_uri: str
    listen_messages_on: str
    publish_messages_to: str
    data_routing_key: str
    error_routing_key: str
    rebound_routing_key: str
    snapshot_routing_key: str
    message_crypto_iv: str | None = field(default=None, repr=False)
    message_crypto_password: str | None = field(default=None, repr=False)
    flow_id: str = ""
    exec_id: str = ""
    step_id: str = ""
    container_id: str = ""
    workspace_id: str = ""
    user_id: str = ""
    comp_id: str = ""
    api_uri: str = ""
    api_username: str = ""
    api_key: str = field(default="", repr=False)
    # The platform's object storage (attachments, large messages); like API_URI, its host is a
    # declared attachment store (skiff.attachments), so it may be on a private network.
    object_storage_uri: str = ""
    rebound_initial_expiration: int = 15000
    # No single rebound waits longer (ms). Not a sailor setting: unset, the sailor's doubling
    # is uncapped; a flow step sets it from its onError.maxBackoff.
    rebound_max_expiration: int | None = None
    rebound_limit: int = 20
    component_path: str = ""
    rabbitmq_prefetch_sailor: int = 1
    startup_required: bool = False
    hook_shutdown: bool = False
    outgoing_message_size_limit: int = 10485760
    amqp_persistent_messages: bool = False
    protocol_version: int = 1
    data_rate_limit: int = 10
    error_rate_limit: int = 2
    snapshot_rate_limit: int = 2
    rate_interval: int = 100  # ms
    amqp_publish_retry_attempts: int = 10
    amqp_publish_retry_delay: int = 100  # ms, doubled per attempt
    amqp_publish_max_retry_delay: int = 300000  # ms

    @property
    def prefetch(self) -> int:
        return self.rabbitmq_prefetch_sailor

    def headers(self) -> dict[str, Any]:
        """The step's identity headers, on every published message."""
        return {
            "execId": self.exec_id,
            "taskId": self.flow_id,
            "workspaceId": self.workspace_id,
            "containerId": self.container_id,
            "userId": self.user_id,
            "stepId": self.step_id,
            "compId": self.comp_id,
            "function": self.function,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, messaging: bool = True) -> WorkerSettings:
        """Read ``ELASTICIO_*``; every missing required variable is named in one error."""
        required = _ALWAYS + (_MESSAGING if messaging and not _truthy(env.get(PREFIX + "HOOK_SHUTDOWN")) else ())
        # A worker without a password exchanges plain JSON (the sailor does too).
        optional_secret = ("MESSAGE_CRYPTO_IV", "MESSAGE_CRYPTO_PASSWORD")
        missing = [PREFIX + k for k in required if not env.get(PREFIX + k) and k not in optional_secret]
        if missing:
            raise ConfigError(f"missing environment: {', '.join(missing)}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                if f.name in ("amqp_uri", "listen_messages_on", "publish_messages_to") or f.name.endswith(
                    "_routing_key"
                ):
                    values[f.name] = ""  # not needed for service calls and shutdown hooks
                continue
            if f.type in ("int", "int | None"):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{PREFIX}{f.name.upper()}={raw!r} is not an integer") from None
            elif f.type == "bool":
                values[f.name] = _truthy(raw)
            else:
                values[f.name] = raw
        return cls(**values)


def _truthy(value: str | None) -> bool:
    return bool(value) and value not in ("false", "0", "no")
