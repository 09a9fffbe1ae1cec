"""A step's ``config`` and ``snapshot``: from the platform API or from a local file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AuthError, ConfigError, TransientError
from .settings import WorkerSettings

__all__ = ["StepData", "fetch_step", "load_step_file"]


@dataclass(slots=True)
class StepData:
    """What the platform knows about a step: its cfg, its trigger snapshot, passthrough on/off."""

    config: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    is_passthrough: bool = False
    variables: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> StepData:
        if not isinstance(data, dict):
            raise ConfigError("step data must be a JSON object", where=where)
        config = data.get("config") or {}
        snapshot = data.get("snapshot") or {}
        if not isinstance(config, dict) or not isinstance(snapshot, dict):
            raise ConfigError("step 'config' and 'snapshot' must be objects", where=where)
        return cls(
            config=config,
            snapshot=snapshot,
            is_passthrough=bool(data.get("is_passthrough")),
            variables=dict(data.get("variables") or {}),
        )


async def fetch_step(settings: WorkerSettings, *, timeout: float = 30.0) -> StepData:
    """``GET {API_URI}/v1/tasks/{FLOW_ID}/steps/{STEP_ID}`` with the step's API credentials."""
    import httpx

    url = f"{settings.api_uri.rstrip('/')}/v1/tasks/{settings.flow_id}/steps/{settings.step_id}"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url, auth=(settings.api_username, settings.api_key))
    except httpx.HTTPError as exc:
        raise TransientError(f"step data from {url}: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise AuthError(f"step data from {url}: {response.status_code}", status=response.status_code)
    if response.status_code != 200:
        raise TransientError(f"step data from {url}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise ConfigError("step data is not JSON", where=url) from None
    return StepData.from_dict(data, url)


def load_step_file(path: str | Path) -> StepData:
    """A JSON or YAML file ``{config, snapshot?, is_passthrough?}`` (a standalone worker)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", where=str(file)) from None
    if file.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {str(exc).splitlines()[0]}", where=str(file)) from None
    else:
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where=str(file)
            ) from None
    return StepData.from_dict(data, str(file))
