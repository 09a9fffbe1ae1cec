"""The studio's HTTP API and page, as one Starlette app behind the :class:`~.security.Guard`.

Requests and answers are JSON. A call that fails as a call (bad cfg, 401 from the API) is a
200 answer whose ``error`` says so in one line and names the field; 4xx statuses are for
requests the studio itself cannot take (unknown component, malformed JSON).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import ConfigError, SkiffError
from .calls import Calls, error_view
from .catalogue import Catalogue
from .flows import FlowFiles
from .runs import FlowRuns
from .sandboxes import SandboxPool
from .security import Guard
from .vault import Vault, secret_fields

__all__ = ["StudioSettings", "create_app"]


@dataclass
class StudioSettings:
    token: str
    home: Path  # where the encrypted credentials and the key live
    flows_dir: Path  # flow files are opened and saved here (and below)


class _BadRequest(Exception):
    pass


def _static_dir() -> Path:
    return Path(str(resources.files("skiff.studio") / "static"))


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _BadRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _BadRequest("request body must be a JSON object")
    return data


def create_app(settings: StudioSettings) -> Guard:
    catalogue = Catalogue()
    vault = Vault(settings.home)
    pool = SandboxPool()
    calls: Calls | None = None
    flows = FlowFiles(settings.flows_dir, catalogue=catalogue, vault=vault, pool=pool)
    guard: Guard

    def the_calls() -> Calls:
        assert calls is not None, "the studio's lifespan has not started"
        return calls

    def resolve_cfg(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The component and the cfg of a request: form values, saved secrets put back in."""
        name = data.get("component")
        if not isinstance(name, str):
            raise _BadRequest("'component' is required")
        comp = catalogue.get(name)
        cfg = data.get("cfg") or {}
        if not isinstance(cfg, dict):
            raise _BadRequest("'cfg' must be an object")
        cid = data.get("credentialId")
        if isinstance(cid, str) and cid:
            saved_component, _ = vault.cfg(cid)
            if saved_component != name:
                raise _BadRequest(f"credentials {cid!r} belong to {saved_component!r}, not {name!r}")
        hidden = secret_fields(dict(comp.model.credentials.fields))
        return comp, vault.merged(cid if isinstance(cid, str) else None, cfg, hidden)

    # ------------------------------------------------------------ routes

    async def index(request: Request) -> Response:
        return FileResponse(_static_dir() / "index.html", headers={"Cache-Control": "no-store"})

    async def session(request: Request) -> Response:
        return JSONResponse({"csrf": guard.csrf, "flowsDir": str(settings.flows_dir)})

    async def components(request: Request) -> Response:
        return JSONResponse(catalogue.summaries(request.query_params.get("q", "")))

    async def component(request: Request) -> Response:
        name = request.path_params["name"]
        summary = next((c for c in catalogue.summaries() if c["name"] == name), None)
        if summary is None:
            raise ConfigError(f"unknown component {name!r}")
        return JSONResponse({**summary, "credentials": catalogue.credentials_form(name)})

    async def logo(request: Request) -> Response:
        path = catalogue.logo(request.path_params["name"])
        if path is None:
            return Response(status_code=404)
        return FileResponse(path, media_type="image/png")

    async def function(request: Request) -> Response:
        return JSONResponse(catalogue.function_form(request.path_params["name"], request.path_params["fn"]))

    async def select(request: Request) -> Response:
        data = await _json(request)
        comp, cfg = resolve_cfg(data)
        fn = data.get("function") or None
        return JSONResponse(await the_calls().select(comp, fn, str(data.get("field", "")), cfg))

    async def verify(request: Request) -> Response:
        comp, cfg = resolve_cfg(await _json(request))
        return JSONResponse(await the_calls().verify(comp, cfg))

    async def credentials(request: Request) -> Response:
        return JSONResponse(vault.public(catalogue.fields_by_component()))

    async def save_credentials(request: Request) -> Response:
        data = await _json(request)
        comp = catalogue.get(str(data.get("component")))
        cfg = data.get("cfg") or {}
        if not isinstance(cfg, dict):
            raise _BadRequest("'cfg' must be an object")
        hidden = secret_fields(dict(comp.model.credentials.fields))
        known = set(comp.model.credentials.fields)
        cfg = {k: v for k, v in cfg.items() if k in known and v not in (None, "")} | {
            k: v for k, v in cfg.items() if k in hidden
        }
        cid = data.get("id") if isinstance(data.get("id"), str) else None
        new_id = vault.save(cid, name=str(data.get("name") or comp.name), component=comp.name, cfg=cfg, hidden=hidden)
        return JSONResponse({"id": new_id})

    async def delete_credentials(request: Request) -> Response:
        vault.delete(request.path_params["cid"])
        return JSONResponse({"deleted": True})

    async def sandboxes(request: Request) -> Response:
        return JSONResponse(pool.describe())

    async def start_sandbox(request: Request) -> Response:
        data = await _json(request) if await request.body() else {}
        options = data.get("options") if isinstance(data.get("options"), dict) else None
        given = data.get("seed")
        seed = given if isinstance(given, int) else 1
        return JSONResponse(pool.start(request.path_params["name"], seed=seed, options=options))

    async def stop_sandbox(request: Request) -> Response:
        pool.stop(request.path_params["name"])
        return JSONResponse({"stopped": True})

    async def run(request: Request) -> Response:
        data = await _json(request)
        comp, cfg = resolve_cfg(data)
        snapshot = data.get("snapshot")
        return JSONResponse(
            await the_calls().run(
                comp,
                str(data.get("function", "")),
                cfg,
                data.get("body"),
                snapshot=snapshot if isinstance(snapshot, dict) else None,
            )
        )

    async def attachment(request: Request) -> Response:
        stored = the_calls().attachments.get(request.path_params["aid"])
        if stored is None:
            return JSONResponse({"error": "attachment expired: run the call again"}, 404)
        safe = "".join(ch for ch in stored.name if ch.isalnum() or ch in "._-") or "attachment"
        return Response(
            stored.content,
            media_type=stored.content_type,
            headers={"Content-Disposition": f'attachment; filename="{safe}"'},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal calls
        calls = Calls()
        flows.runs = FlowRuns(flows.root, vault, calls.executor)
        try:
            yield
        finally:
            await flows.aclose()
            await calls.aclose()
            pool.close()

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SkiffError):
            return JSONResponse({"error": error_view(exc)}, 400)
        return JSONResponse(
            {"error": {"kind": "BadRequest", "message": str(exc), "line": str(exc), "field": None}}, 400
        )

    routes = [
        Route("/", index),
        Route("/api/session", session),
        Route("/api/components", components),
        Route("/api/components/{name}", component),
        Route("/api/components/{name}/logo", logo),
        Route("/api/components/{name}/functions/{fn}", function),
        Route("/api/select", select, methods=["POST"]),
        Route("/api/verify", verify, methods=["POST"]),
        Route("/api/credentials", credentials),
        Route("/api/credentials", save_credentials, methods=["POST"]),
        Route("/api/credentials/{cid}", delete_credentials, methods=["DELETE"]),
        Route("/api/sandboxes", sandboxes),
        Route("/api/sandboxes/{name}", start_sandbox, methods=["POST"]),
        Route("/api/sandboxes/{name}", stop_sandbox, methods=["DELETE"]),
        Route("/api/run", run, methods=["POST"]),
        Route("/api/attachments/{aid}", attachment),
        *flows.routes(),
        Mount("/static", app=StaticFiles(directory=_static_dir()), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={SkiffError: on_error, _BadRequest: on_error},
    )
    guard = Guard(app, token=settings.token)
    return guard
