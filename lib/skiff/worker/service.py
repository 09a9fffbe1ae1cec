"""Service calls run once outside the queue: verifyCredentials, getMetaModel, selectModel.

As sailor-nodejs' ``runService.js``: the cfg comes in ``ELASTICIO_CFG``, the function in
``ELASTICIO_ACTION_OR_TRIGGER``, the select model in ``ELASTICIO_GET_MODEL_METHOD``, and the
result is posted to ``ELASTICIO_POST_RESULT_URL`` as ``{"status": "success"|"error", "data"}``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ..component import Component
from ..errors import ConfigError, SkiffError, TransientError
from ..run import Executor

__all__ = ["SERVICE_METHODS", "run_service", "service_result"]

ServiceMethod = Literal["verifyCredentials", "getMetaModel", "selectModel"]
SERVICE_METHODS: tuple[str, ...] = ("verifyCredentials", "getMetaModel", "selectModel")


async def service_result(method: str, component: Component, env: Mapping[str, str]) -> dict[str, Any]:
    """``{"status", "data"}`` of one service call; an error becomes ``status: error``."""
    try:
        if method not in SERVICE_METHODS:
            raise ConfigError(f"unknown service method {method!r}; known: {', '.join(SERVICE_METHODS)}")
        try:
            cfg = json.loads(env.get("ELASTICIO_CFG") or "")
        except json.JSONDecodeError:
            raise ConfigError("ELASTICIO_CFG is missing or not JSON") from None
        if not isinstance(cfg, dict):
            raise ConfigError("ELASTICIO_CFG must be a JSON object")
        async with Executor() as executor:
            if method == "verifyCredentials":
                data: Any = await executor.verify(component, cfg)
            else:
                name = env.get("ELASTICIO_ACTION_OR_TRIGGER")
                if not name:
                    raise ConfigError("ELASTICIO_ACTION_OR_TRIGGER is not provided")
                if method == "getMetaModel":
                    data = await _meta_model(executor, component, name, cfg)
                else:
                    data = await _select_model(executor, component, name, env.get("ELASTICIO_GET_MODEL_METHOD"), cfg)
        return {"status": "success", "data": data}
    except SkiffError as err:
        return {"status": "error", "data": {"message": str(err)}}


async def _meta_model(executor: Executor, component: Component, name: str, cfg: dict[str, Any]) -> Any:
    fn = component.function(name)
    if fn.model.dynamicMetadata is True and fn.model.main:
        handler = component.handler(fn.model.main, "metadata")
        ctx = executor.context(component, None, cfg)
        result = handler(ctx, cfg)
        return await result if inspect.isawaitable(result) else result
    return {"in": fn.in_schema or {}, "out": fn.out_schema or {}}


async def _select_model(
    executor: Executor, component: Component, name: str, model: str | None, cfg: dict[str, Any]
) -> dict[str, str]:
    if not model:
        raise ConfigError("ELASTICIO_GET_MODEL_METHOD is not provided")
    fn = component.function(name)
    fields = {**component.model.credentials.fields, **fn.fields}
    for field_name, field in fields.items():
        if field.model == model:
            owner = name if field_name in fn.fields else None
            return await executor.select(component, owner, field_name, cfg)
    raise ConfigError(f"{name}: no field uses the select model {model!r}")


async def run_service(method: str, component: Component, env: Mapping[str, str]) -> dict[str, Any]:
    """Run the call and POST its result to ``ELASTICIO_POST_RESULT_URL`` (credentials in the URL)."""
    import httpx

    url = env.get("ELASTICIO_POST_RESULT_URL")
    if not url:
        raise ConfigError("ELASTICIO_POST_RESULT_URL is not provided")
    result = await service_result(method, component, env)
    parts = urlsplit(url)
    auth = None
    if parts.username is not None:
        from urllib.parse import unquote

        auth = (unquote(parts.username), unquote(parts.password or ""))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit(parts._replace(netloc=netloc))
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, json=result, auth=auth) if auth else await client.post(url, json=result)
    except httpx.HTTPError as exc:
        raise TransientError(f"posting the result to {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise TransientError(f"posting the result to {url}: HTTP {response.status_code}")
    return result
