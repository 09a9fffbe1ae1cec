"""The canvas's side of flows: list, open and save flow files, preview mappings, run and replay.

Files live under the studio's flows folder (never outside it). Opening returns the text and the
document as JSON; saving takes the document back and writes it through
:func:`~.flowfile.render_text` (an unchanged document writes the same bytes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import ConfigError
from .flowfile import parse_text, plain, render_text

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .sandboxes import SandboxPool
    from .vault import Vault

__all__ = ["FlowFiles"]

_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".skiff"}


class FlowFiles:
    def __init__(self, root: Path, *, catalogue: Catalogue, vault: Vault, pool: SandboxPool) -> None:
        self.root = root.resolve()
        self.catalogue = catalogue
        self.vault = vault
        self.pool = pool

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------ files

    def path(self, rel: str) -> Path:
        """``rel`` inside the flows folder, or a ConfigError (no ``..``, no absolute paths)."""
        if not rel or rel.startswith(("/", "\\")) or Path(rel).suffix not in _SUFFIXES:
            raise ConfigError(f"{rel!r}: a flow file is a relative path ending in .yaml or .yml")
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            raise ConfigError(f"{rel!r} is outside the flows folder {self.root}")
        return path

    def list(self) -> list[dict[str, Any]]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            if Path(dirpath).relative_to(self.root).parts.__len__() > 2:
                dirnames[:] = []
            for name in sorted(filenames):
                if not name.endswith(_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                try:
                    doc = plain(parse_text(path.read_text(encoding="utf-8"), where=str(path)))
                except (ConfigError, OSError, UnicodeDecodeError):
                    continue
                if isinstance(doc, dict) and "trigger" in doc and "steps" in doc:
                    out.append({"path": str(path.relative_to(self.root)), "name": doc.get("name")})
        return out

    def load(self, rel: str) -> dict[str, Any]:
        path = self.path(rel)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", where=rel) from None
        doc = plain(parse_text(text, where=rel))
        if not isinstance(doc, dict):
            raise ConfigError("a flow file is a YAML mapping", where=rel)
        return {"path": rel, "text": text, "doc": doc, "problems": self.problems(doc)}

    def save(self, rel: str, doc: dict[str, Any]) -> dict[str, Any]:
        path = self.path(rel)
        original = path.read_text(encoding="utf-8") if path.is_file() else ""
        text = render_text(original, doc)
        if text != original:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        return {"path": rel, "text": text, "changed": text != original, "problems": self.problems(doc)}

    def preview(self, expression: str, data: Any, passthrough: dict[str, Any]) -> dict[str, Any]:
        """A mapping evaluated on a sample, as the runner would evaluate it in that step."""
        if not expression.strip():
            return {"result": data}
        import jsonata

        try:
            expr = jsonata.Jsonata(expression)
            expr.assign("passthrough", passthrough)
            return {"result": expr.evaluate(data)}
        except Exception as exc:  # JSONata reports syntax and evaluation errors alike
            line = " ".join(str(exc).split())
            return {"error": {"kind": "MappingError", "message": line, "line": f"MappingError: {line}", "field": None}}

    def problems(self, doc: dict[str, Any]) -> list[str]:
        """What is wrong with the document as a flow (empty when it is a valid flow)."""
        return []

    # ------------------------------------------------------------ routes

    def routes(self) -> list[BaseRoute]:
        async def list_files(request: Request) -> Response:
            return JSONResponse(self.list())

        async def open_file(request: Request) -> Response:
            return JSONResponse(self.load(request.query_params.get("path", "")))

        async def save_file(request: Request) -> Response:
            data = await request.json()
            doc = data.get("doc") if isinstance(data, dict) else None
            if not isinstance(doc, dict):
                raise ConfigError("'doc' must be the flow as a JSON object")
            return JSONResponse(self.save(str(data.get("path", "")), doc))

        async def preview(request: Request) -> Response:
            data = await request.json()
            if not isinstance(data, dict):
                raise ConfigError("the preview request is a JSON object")
            passthrough = data.get("passthrough") if isinstance(data.get("passthrough"), dict) else {}
            return JSONResponse(self.preview(str(data.get("expression") or ""), data.get("input"), passthrough))

        return [
            Route("/api/flows/preview", preview, methods=["POST"]),
            Route("/api/flows", list_files),
            Route("/api/flows/file", open_file),
            Route("/api/flows/file", save_file, methods=["PUT"]),
        ]
