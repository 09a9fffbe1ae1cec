"""``skiff validate``: every problem of a component folder, each as one line with a JSON pointer."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..templating import compile_check
from ..validation import check_schema
from .loader import parse_json
from .models import NAME_PATTERN, VIEW_CLASSES, ComponentModel

__all__ = ["Problem", "component_json_schema", "validate_component"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.pointer or '/'}: {self.message}"


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer_from_loc(data: Any, loc: tuple[Any, ...]) -> tuple[str, bool]:
    """Turn a pydantic error location into a JSON pointer into ``data``.

    pydantic inserts union branch labels (``str``, ``list[...]``, a discriminator tag) into
    locations; they are not in the document, so they are skipped. Returns ``(pointer,
    relevant)``; ``relevant`` is False when the error belongs to a union branch whose type
    does not match the data (``auth`` given as a list: the ``str`` branch's complaint is noise).
    """
    parts: list[str] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(part, str) and part in cur:
            cur = cur[part]
            parts.append(_escape(part))
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
            parts.append(str(part))
        elif last:
            parts.append(_escape(part))
        else:
            label = str(part)
            if label == "str" and not isinstance(cur, str):
                return "", False
            if label.startswith("list[") and not isinstance(cur, list):
                return "", False
            if label.startswith(("dict[", "function-")) and not isinstance(cur, dict):
                return "", False
    return "/" + "/".join(parts), True


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {err['loc'][-1]!r}"
    if kind == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    if kind == "literal_error" and err["loc"] and err["loc"][-1] == "viewClass":
        return f"unknown viewClass {err['input']!r} (known: {', '.join(VIEW_CLASSES)})"
    msg = str(err["msg"])
    if kind == "literal_error":
        return f"{msg}, got {err['input']!r}"
    return msg


def _handler_problem(folder: Path, main: str) -> str | None:
    file = (folder / main).resolve()
    if file.suffix != ".py":
        return f"main {main!r} must name a .py file"
    if not file.is_file():
        return f"main {main!r}: file not found"
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except SyntaxError as exc:
        return f"main {main!r}: syntax error at line {exc.lineno}: {exc.msg}"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "process":
            return None
    return f"main {main!r} has no function 'process'"


def validate_component(folder: str | Path) -> list[Problem]:
    """All problems found in a component folder; an empty list means it is valid."""
    base = Path(folder)
    if base.name == "component.json":
        base = base.parent
    label = str(base / "component.json")
    try:
        data = parse_json(base / "component.json")
    except ConfigError as exc:
        return [Problem(label, "", exc.message)]
    if not isinstance(data, dict):
        return [Problem(label, "", "component.json must be a JSON object")]

    problems: list[Problem] = []
    model: ComponentModel | None = None
    try:
        model = ComponentModel.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[str, str]] = set()
        for err in exc.errors():
            pointer, relevant = _pointer_from_loc(data, tuple(err["loc"]))
            if not relevant:
                continue
            entry = (pointer, _message(err))
            if entry not in seen:
                seen.add(entry)
                problems.append(Problem(label, *entry))

    functions: dict[str, str] = {}
    for kind in ("triggers", "actions"):
        block = data.get(kind) or {}
        if not isinstance(block, dict):
            continue
        for name, fn in block.items():
            pointer = f"/{kind}/{_escape(name)}"
            if not NAME_PATTERN.match(name):
                problems.append(Problem(label, pointer, f"bad name {name!r}: must match {NAME_PATTERN.pattern}"))
            if name in functions:
                problems.append(Problem(label, pointer, f"duplicate name {name!r}: also in {functions[name]}"))
            functions[name] = kind
            if not isinstance(fn, dict):
                continue
            problems.extend(_function_problems(base, label, pointer, fn, kind, data))
    problems.extend(Problem(label, p, m) for p, m in compile_check(data.get("http"), "/http"))
    for key in ("verifyCredentials", "selectModels"):
        problems.extend(Problem(label, p, m) for p, m in compile_check(data.get(key), f"/{key}"))
        for p, main in _mains(data.get(key), f"/{key}"):
            if msg := _handler_problem(base, main):
                problems.append(Problem(label, p, msg))
    if model is not None:
        problems.extend(_select_model_problems(label, data))
    return problems


def _mains(value: Any, pointer: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        main = value.get("main")
        if isinstance(main, str):
            found.append((f"{pointer}/main", main))
        for k, v in value.items():
            if isinstance(v, dict):
                found.extend(_mains(v, f"{pointer}/{_escape(k)}"))
    return found


def _function_problems(
    base: Path, label: str, pointer: str, fn: dict[str, Any], kind: str, data: dict[str, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    main = fn.get("main")
    if isinstance(main, str):
        if msg := _handler_problem(base, main):
            problems.append(Problem(label, f"{pointer}/main", msg))
    elif not fn.get("request") and not fn.get("polling"):
        problems.append(Problem(label, pointer, "needs 'main' (a handler) or a declarative 'request'/'polling'"))
    if kind == "triggers" and fn.get("type") not in (None, "polling"):
        problems.append(Problem(label, f"{pointer}/type", "a trigger's type must be 'polling'"))
    for key in ("request", "polling"):
        problems.extend(Problem(label, p, m) for p, m in compile_check(fn.get(key), f"{pointer}/{key}"))
    metadata = fn.get("metadata") or {}
    if isinstance(metadata, dict):
        for direction in ("in", "out"):
            value = metadata.get(direction)
            mp = f"{pointer}/metadata/{direction}"
            if isinstance(value, str):
                path = (base / value).resolve()
                try:
                    schema = parse_json(path)
                except ConfigError as exc:
                    problems.append(Problem(label, mp, f"{value}: {exc.message}"))
                    continue
                if msg := check_schema(schema):
                    problems.append(Problem(label, mp, f"{value}: {msg}"))
            elif isinstance(value, dict) and (msg := check_schema(value)):
                problems.append(Problem(label, mp, msg))
    return problems


def _select_model_problems(label: str, data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    models = set((data.get("selectModels") or {}).keys())

    def check(fields: Any, pointer: str) -> None:
        if not isinstance(fields, dict):
            return
        for fname, field in fields.items():
            if not isinstance(field, dict):
                continue
            model = field.get("model")
            if isinstance(model, str) and model not in models:
                problems.append(Problem(label, f"{pointer}/{_escape(fname)}/model", f"unknown select model {model!r}"))
            if field.get("viewClass") in ("SelectView", "MultiSelectView") and not model:
                problems.append(Problem(label, f"{pointer}/{_escape(fname)}", "a select field needs a 'model'"))

    check((data.get("credentials") or {}).get("fields"), "/credentials/fields")
    for kind in ("triggers", "actions"):
        for name, fn in (data.get(kind) or {}).items():
            if isinstance(fn, dict):
                check(fn.get("fields"), f"/{kind}/{_escape(name)}/fields")
    return problems


def component_json_schema() -> dict[str, Any]:
    """The JSON Schema of component.json, generated from the pydantic models."""
    schema = ComponentModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://skiff.dev/schemas/component.json"
    schema["title"] = "skiff component.json"
    return json.loads(json.dumps(schema, sort_keys=True))  # type: ignore[no-any-return]
