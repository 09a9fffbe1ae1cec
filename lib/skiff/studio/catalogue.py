"""The catalogue: every component skiff knows, summarised and searchable, and each function's form.

Components come from :func:`skiff.component.find_components`: the root ``http`` component,
``components/*`` and ``$SKIFF_COMPONENTS_PATH`` (where ``skiff studio --components`` adds its
folders, so that flows run from the studio find them too).
A component that fails to load stays in the list with its one-line error, so a broken folder
is visible rather than missing.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..component import Component, find_components, load_component
from ..component.models import FieldModel
from ..errors import ConfigError, SkiffError
from .vault import secret_fields

__all__ = ["Catalogue", "field_view"]


def field_view(name: str, f: FieldModel, *, secret: bool) -> dict[str, Any]:
    """What the browser needs to render one field (component.json keys, as elastic.io names them)."""
    out: dict[str, Any] = {
        "name": name,
        "label": f.label or name,
        "viewClass": f.viewClass,
        "required": bool(f.required),
        "secret": secret,
    }
    for key in ("placeholder", "note", "default", "type"):
        value = getattr(f, key, None)
        if value is not None:
            out[key] = value
    if isinstance(f.model, dict):
        out["options"] = {str(k): str(v) for k, v in f.model.items()}
    elif f.model:
        out["model"] = f.model  # options come live from the select model
    return out


def _ordered(fields: dict[str, FieldModel]) -> list[tuple[str, FieldModel]]:
    return sorted(fields.items(), key=lambda kv: getattr(kv[1], "order", None) or 10_000)


class Catalogue:
    """Loads components once (they do not change while the studio runs) and answers questions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, Component] = {}
        self._paths: dict[str, Path] = {}

    def paths(self) -> dict[str, Path]:
        if not self._paths:
            self._paths = find_components()
        return self._paths

    def get(self, name: str) -> Component:
        with self._lock:
            comp = self._components.get(name)
            if comp is not None:
                return comp
            path = self.paths().get(name)
            if path is None:
                raise ConfigError(f"unknown component {name!r}")
            comp = load_component(path, name=name)
            self._components[name] = comp
            return comp

    def fields_by_component(self) -> dict[str, dict[str, FieldModel]]:
        out: dict[str, dict[str, FieldModel]] = {}
        for name in self.paths():
            try:
                out[name] = dict(self.get(name).model.credentials.fields)
            except SkiffError:
                continue
        return out

    def summaries(self, query: str = "") -> list[dict[str, Any]]:
        """One entry per component; with ``query``, only those whose name, title, description or
        any action/trigger name or title contains every word of it (case-insensitive)."""
        words = query.lower().split()
        out = []
        for name, path in self.paths().items():
            try:
                comp = self.get(name)
            except SkiffError as err:
                out.append(
                    {"name": name, "title": name, "error": str(err), "path": str(path), "actions": [], "triggers": []}
                )
                continue
            functions = {
                kind: [
                    {"name": n, "title": fn.title, "description": fn.model.description or ""}
                    for n, fn in (comp.actions if kind == "actions" else comp.triggers).items()
                ]
                for kind in ("actions", "triggers")
            }
            description = comp.model.description or ""
            entry: dict[str, Any] = {
                "name": name,
                "title": comp.title,
                "description": description,
                "version": comp.model.version,
                "logo": (comp.path / "logo.png").is_file(),
                **functions,
            }
            if words:
                hay = " ".join(
                    [name, comp.title, description]
                    + [f"{f['name']} {f['title']}" for f in functions["actions"] + functions["triggers"]]
                ).lower()
                if not all(w in hay for w in words):
                    continue
                # Narrow the function lists to the matches when the component itself does not match.
                head = f"{name} {comp.title} {description}".lower()
                if not all(w in head for w in words):
                    for kind in ("actions", "triggers"):
                        entry[kind] = [
                            f for f in functions[kind] if all(w in f"{f['name']} {f['title']}".lower() for w in words)
                        ]
            out.append(entry)
        return out

    def credentials_form(self, name: str) -> dict[str, Any]:
        comp = self.get(name)
        fields = dict(comp.model.credentials.fields)
        hidden = secret_fields(fields)
        return {
            "component": name,
            "title": comp.title,
            "verify": comp.model.verifyCredentials is not None or comp.http is None,
            "fields": [field_view(n, f, secret=n in hidden) for n, f in _ordered(fields)],
        }

    def function_form(self, name: str, function: str) -> dict[str, Any]:
        comp = self.get(name)
        fn = comp.function(function)
        return {
            "component": name,
            "name": fn.name,
            "kind": fn.kind,
            "title": fn.title,
            "description": fn.model.description or "",
            "operationId": fn.model.operationId,
            "fields": [field_view(n, f, secret=False) for n, f in _ordered(dict(fn.fields))],
            "in": fn.in_schema,
            "out": fn.out_schema,
        }

    def logo(self, name: str) -> Path | None:
        path = self.get(name).path / "logo.png"
        return path if path.is_file() else None
