"""Load a component folder: parse component.json, resolve schema files, import handlers by path."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import ConfigError
from ..specs import HttpSpec
from ..validation import SchemaValidator, compile_schema
from .handlers import HandlerKind, HookKind, callable_problem
from .mains import foreign_main_message
from .metadata import upgrade_schema
from .models import ComponentModel, FieldModel, FunctionModel
from .paths import MAX_COMPONENT_FILE_BYTES, confined

__all__ = [
    "ROOT_COMPONENT_NAME",
    "Component",
    "Function",
    "find_components",
    "load_component",
    "parse_json",
    "resolve_component",
]

ROOT_COMPONENT_NAME = "http"

Kind = Literal["action", "trigger"]


def parse_json(path: Path) -> Any:
    """Parse JSON, raising ConfigError with line and column; duplicate keys are errors too."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"duplicate key {key!r}")
            out[key] = value
        return out

    try:
        size = path.stat().st_size
        if size > MAX_COMPONENT_FILE_BYTES:
            raise ConfigError(
                f"{size:,} bytes is more than the {MAX_COMPONENT_FILE_BYTES:,} a component file may have",
                where=str(path),
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", where=str(path)) from None
    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where=str(path)
        ) from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", where=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"invalid JSON: {exc}", where=str(path)) from None


@dataclass
class Function:
    """An action or trigger of a loaded component, with its schemas resolved."""

    component: Component
    name: str
    kind: Kind
    model: FunctionModel

    @property
    def title(self) -> str:
        return self.model.title

    @cached_property
    def in_schema(self) -> dict[str, Any] | None:
        return self.component.resolve_schema(self.model.metadata.in_, f"{self.kind}s/{self.name}/metadata/in")

    @cached_property
    def out_schema(self) -> dict[str, Any] | None:
        return self.component.resolve_schema(self.model.metadata.out, f"{self.kind}s/{self.name}/metadata/out")

    @cached_property
    def in_validator(self) -> SchemaValidator | None:
        schema = self.in_schema
        return compile_schema(schema, self.component.path) if schema else None

    @cached_property
    def out_validator(self) -> SchemaValidator | None:
        schema = self.out_schema
        return compile_schema(schema, self.component.path) if schema else None

    @cached_property
    def record_validator(self) -> SchemaValidator | None:
        """For one record of a list answer: the out-schema's ``items`` when it describes an array."""
        schema = self.out_schema
        items = schema.get("items") if isinstance(schema, dict) and schema.get("type") == "array" else None
        return compile_schema(items, self.component.path) if isinstance(items, dict) else None

    @property
    def fields(self) -> dict[str, FieldModel]:
        return self.model.fields

    def handler(self) -> Callable[..., Any]:
        """Import ``main`` and return its ``process``; raises ConfigError when it cannot."""
        if not self.model.main:
            raise ConfigError(f"{self.kind} {self.name!r} has no 'main'", where=str(self.component.json_path))
        if foreign := foreign_main_message(self.kind, self.name, self.model.main):
            raise ConfigError(foreign, where=str(self.component.json_path))
        return self.component.handler(self.model.main, "trigger" if self.kind == "trigger" else "action")

    def hook(self, kind: HookKind) -> Callable[..., Any] | None:
        """The ``init``/``startup``/``shutdown`` hook next to ``process`` in ``main``, or None.

        A declarative function or a JavaScript/Java main has none skiff can run.
        """
        main = self.model.main
        if not main or foreign_main_message(self.kind, self.name, main):
            return None
        return self.component.hook(main, kind)


@dataclass
class Component:
    """A loaded component folder."""

    name: str
    path: Path
    model: ComponentModel
    _modules: dict[str, Any] = field(default_factory=dict, repr=False)
    # (main, attr) → callable: a worker looks its handler up once per message.
    _callables: dict[tuple[str, str], Callable[..., Any]] = field(default_factory=dict, repr=False)

    @property
    def json_path(self) -> Path:
        return self.path / "component.json"

    @property
    def title(self) -> str:
        return self.model.title

    @property
    def http(self) -> HttpSpec | None:
        return self.model.http

    @cached_property
    def actions(self) -> dict[str, Function]:
        return {n: Function(self, n, "action", m) for n, m in self.model.actions.items()}

    @cached_property
    def triggers(self) -> dict[str, Function]:
        return {n: Function(self, n, "trigger", m) for n, m in self.model.triggers.items()}

    def function(self, name: str) -> Function:
        fn = self.actions.get(name) or self.triggers.get(name)
        if fn is None:
            names = sorted([*self.actions, *self.triggers])
            hint = _closest(name, names)
            raise ConfigError(
                f"component {self.name!r} has no action or trigger {name!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
            )
        return fn

    def resolve_schema(self, value: dict[str, Any] | str | None, pointer: str) -> dict[str, Any] | None:
        """An inline or ``./schemas/x.json`` schema, upgraded from elastic.io's older style."""
        if value is None or isinstance(value, dict):
            return upgrade_schema(value)  # type: ignore[no-any-return]
        schema_path = confined(self.path, value, f"{pointer}: schema", where=str(self.json_path))
        data = parse_json(schema_path)
        if not isinstance(data, dict):
            raise ConfigError(f"{pointer}: {value} is not a JSON Schema object", where=str(self.json_path))
        return upgrade_schema(data)  # type: ignore[no-any-return]

    def handler(self, main: str, kind: HandlerKind) -> Callable[..., Any]:
        """The handler of ``kind`` that ``main`` defines, checked as ``skiff validate`` checks it.

        Looked up once per (main, kind): a worker calls it for every message.
        """
        found = self._callables.get((main, kind))
        if found is not None:
            return found
        fn, problem = callable_problem(self._import(main), main, kind)
        if fn is None:
            raise ConfigError(problem or f"main {main!r}: no {kind} handler", where=str(self.json_path))
        self._callables[(main, kind)] = fn
        return fn

    def hook(self, main: str, kind: HookKind) -> Callable[..., Any] | None:
        """The hook of ``kind`` that ``main`` defines, None if it defines none; a misfit raises."""
        fn, problem = callable_problem(self._import(main), main, kind)
        if problem is not None:
            raise ConfigError(problem, where=str(self.json_path))
        return fn

    def _import(self, main: str) -> Any:
        file = confined(self.path, main, "main", where=str(self.json_path))
        if file.suffix != ".py":
            raise ConfigError(f"main {main!r} must name a .py file", where=str(self.json_path))
        module = self._modules.get(str(file))
        if module is None:
            if not file.is_file():
                raise ConfigError(f"main {main!r}: file not found", where=str(self.json_path))
            mod_name = f"skiff_components.{self.name}.{file.stem}_{abs(hash(str(file))) % 10**8}"
            spec = importlib.util.spec_from_file_location(mod_name, file)
            if spec is None or spec.loader is None:
                raise ConfigError(f"main {main!r}: cannot import", where=str(self.json_path))
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise ConfigError(
                    f"main {main!r} fails to import: {type(exc).__name__}: {exc}", where=str(self.json_path)
                ) from exc
            self._modules[str(file)] = module
        return module


def _closest(name: str, names: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, names, n=1)
    return found[0] if found else None


def load_component(path: str | Path, name: str | None = None) -> Component:
    """Load and check the model of a component folder (schemas and handlers load lazily)."""
    folder = Path(path)
    if folder.name == "component.json":
        folder = folder.parent
    folder = folder.resolve()
    data = parse_json(folder / "component.json")
    try:
        model = ComponentModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "/".join(str(p) for p in first["loc"])
        raise ConfigError(f"/{loc}: {first['msg']}", where=str(folder / "component.json")) from None
    return Component(name=name or component_name(folder), path=folder, model=model)


def component_name(folder: Path) -> str:
    root = repo_root()
    if root is not None and folder.resolve() == root:
        return ROOT_COMPONENT_NAME
    return folder.name


def repo_root() -> Path | None:
    """The folder holding the root (http) component and components/: source checkout or wheel."""
    here = Path(__file__).resolve()
    checkout = here.parents[3]  # lib/skiff/component/loader.py → repo root
    if (checkout / "component.json").is_file() and (checkout / "components").is_dir():
        return checkout
    packaged = here.parents[1] / "_root"
    if packaged.is_dir():
        return packaged
    return None


def find_components() -> dict[str, Path]:
    """Every known component: the root ``http`` one, ``components/*`` and ``$SKIFF_COMPONENTS_PATH``."""
    found: dict[str, Path] = {}
    root = repo_root()
    if root is not None:
        if (root / "component.json").is_file():
            found[ROOT_COMPONENT_NAME] = root
        comps = root / "components"
        if comps.is_dir():
            for child in sorted(comps.iterdir()):
                if (child / "component.json").is_file():
                    found[child.name] = child
    for extra in filter(None, os.environ.get("SKIFF_COMPONENTS_PATH", "").split(os.pathsep)):
        base = Path(extra)
        if (base / "component.json").is_file():
            found[base.name] = base
        elif base.is_dir():
            for child in sorted(base.iterdir()):
                if (child / "component.json").is_file():
                    found[child.name] = child
    return found


def resolve_component(ref: str) -> Component:
    """A component by name (``http``, or a folder under ``components/``) or by folder path."""
    candidate = Path(ref)
    if (candidate / "component.json").is_file() or candidate.name == "component.json":
        return load_component(candidate)
    known = find_components()
    if ref in known:
        return load_component(known[ref], name=ref)
    hint = _closest(ref, list(known))
    raise ConfigError(
        f"unknown component {ref!r}; known: {', '.join(sorted(known)) or 'none'}"
        + (f" (did you mean {hint!r}?)" if hint else "")
    )
