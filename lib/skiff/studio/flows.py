"""The canvas's side of flows: list, open and save flow files, preview mappings, run and replay.

Files live under the studio's flows folder (never outside it). The file format, its checks and
its exact round trip are :mod:`skiff.flow`'s: opening returns the text and the document as
JSON; saving takes the document back, writes nothing when it did not change (the file keeps its
bytes) and otherwise merges the change into the file's YAML tree, keeping the comments and the
layout of the untouched parts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import ConfigError
from ..flow import Expression, FlowDocument, FlowFileError, MappingError, check_flow, dump_flow

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .runs import FlowRuns
    from .sandboxes import SandboxPool
    from .vault import Vault

__all__ = ["FlowFiles"]

_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".skiff"}


def _problem_lines(exc: FlowFileError) -> list[str]:
    return [str(p) for p in exc.problems]


class FlowFiles:
    def __init__(self, root: Path, *, catalogue: Catalogue, vault: Vault, pool: SandboxPool) -> None:
        self.root = root.resolve()
        self.catalogue = catalogue
        self.vault = vault
        self.pool = pool
        self.runs: FlowRuns | None = None  # set when the studio's event loop starts

    async def aclose(self) -> None:
        if self.runs is not None:
            await self.runs.aclose()

    def _runs(self) -> FlowRuns:
        assert self.runs is not None, "the studio's lifespan has not started"
        return self.runs

    # ------------------------------------------------------------ files

    def path(self, rel: str) -> Path:
        """``rel`` inside the flows folder, or a ConfigError (no ``..``, no absolute paths)."""
        if not rel or rel.startswith(("/", "\\")) or Path(rel).suffix not in _SUFFIXES:
            raise ConfigError(f"{rel!r}: a flow file is a relative path ending in .yaml or .yml")
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            raise ConfigError(f"{rel!r} is outside the flows folder {self.root}")
        return path

    def files(self) -> list[dict[str, Any]]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            depth = len(Path(dirpath).relative_to(self.root).parts)
            dirnames[:] = (
                [] if depth >= 2 else sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            )
            for name in sorted(filenames):
                if not name.endswith(_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                try:
                    doc = FlowDocument.load(path)
                except (ConfigError, OSError, UnicodeDecodeError):
                    continue  # not a flow file (credentials.yaml, other YAML)
                out.append({"path": str(path.relative_to(self.root)), "name": doc.flow.name})
        return out

    def load(self, rel: str) -> dict[str, Any]:
        path = self.path(rel)
        if not path.is_file():
            raise ConfigError("file not found", where=rel)
        try:
            doc = FlowDocument.load(path)
        except FlowFileError as exc:
            raise ConfigError("; ".join(_problem_lines(exc))) from None
        return {"path": rel, "text": doc.text, "doc": doc.to_dict(), "problems": [str(p) for p in check_flow(doc)]}

    def save(self, rel: str, wanted: dict[str, Any]) -> dict[str, Any]:
        """Write ``wanted``; a FlowFileError (the document's shape is wrong) writes nothing."""
        path = self.path(rel)
        original = None
        if path.is_file():
            current = FlowDocument.load(path)
            original = current.text
            doc = current if current.to_dict() == wanted else current.with_flow(wanted)
        else:
            import yaml

            # Checked first (a FlowFileError names each problem), then written in the canonical layout.
            checked = FlowDocument.loads(yaml.safe_dump(wanted, sort_keys=False), source=rel)
            doc = FlowDocument.loads(dump_flow(checked.flow), source=str(path))
        changed = doc.dumps() != original
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            doc.save(path)
        return {"path": rel, "text": doc.dumps(), "changed": changed, "problems": [str(p) for p in check_flow(doc)]}

    def preview(self, expression: str, data: Any, passthrough: dict[str, Any], step: str) -> dict[str, Any]:
        """A mapping evaluated on a sample, as the runner evaluates it in that step."""
        if not expression.strip():
            return {"result": data}
        try:
            return {
                "result": Expression(expression, step=step, field="mapping").evaluate(
                    data, {"passthrough": passthrough}
                )
            }
        except MappingError as exc:
            return {"error": {"kind": exc.kind, "message": str(exc), "line": f"{exc.kind}: {exc}", "field": None}}

    # ------------------------------------------------------------ routes

    def routes(self) -> list[BaseRoute]:
        async def list_files(request: Request) -> Response:
            return JSONResponse(self.files())

        async def open_file(request: Request) -> Response:
            return JSONResponse(self.load(request.query_params.get("path", "")))

        async def save_file(request: Request) -> Response:
            data = await request.json()
            doc = data.get("doc") if isinstance(data, dict) else None
            if not isinstance(doc, dict):
                raise ConfigError("'doc' must be the flow as a JSON object")
            try:
                return JSONResponse(self.save(str(data.get("path", "")), doc))
            except FlowFileError as exc:
                return JSONResponse({"error": {"kind": "FlowFileError", "line": "; ".join(_problem_lines(exc))}}, 400)

        async def preview(request: Request) -> Response:
            data = await request.json()
            if not isinstance(data, dict):
                raise ConfigError("the preview request is a JSON object")
            given = data.get("passthrough")
            passthrough: dict[str, Any] = given if isinstance(given, dict) else {}
            return JSONResponse(
                self.preview(
                    str(data.get("expression") or ""), data.get("input"), passthrough, str(data.get("step") or "step")
                )
            )

        async def body_of(request: Request) -> dict[str, Any]:
            data = await request.json()
            if not isinstance(data, dict):
                raise ConfigError("the request body is a JSON object")
            return data

        async def run(request: Request) -> Response:
            data = await body_of(request)
            return JSONResponse(self._runs().start(self.path(str(data.get("path", "")))))

        async def replay(request: Request) -> Response:
            data = await body_of(request)
            ids = [str(data["id"])] if data.get("id") else []
            return JSONResponse(self._runs().start(self.path(str(data.get("path", ""))), replay=ids))

        async def status(request: Request) -> Response:
            return JSONResponse(self._runs().status(self.path(request.query_params.get("path", ""))))

        async def message(request: Request) -> Response:
            path = self.path(request.query_params.get("path", ""))
            return JSONResponse(self._runs().message(path, request.query_params.get("id", "")))

        return [
            Route("/api/flows/run", run, methods=["POST"]),
            Route("/api/flows/replay", replay, methods=["POST"]),
            Route("/api/flows/status", status),
            Route("/api/flows/message", message),
            Route("/api/flows/preview", preview, methods=["POST"]),
            Route("/api/flows", list_files),
            Route("/api/flows/file", open_file),
            Route("/api/flows/file", save_file, methods=["PUT"]),
        ]
