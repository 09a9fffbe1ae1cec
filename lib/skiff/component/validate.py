"""``skiff validate``: every problem of a component folder, each as one line with a JSON pointer.

Errors make a file invalid. Warnings do not: a genuine elastic.io component whose ``main``
names JavaScript or Java loads, describes and validates, with one warning per function that
needs a Python handler or a declarative request before skiff can run it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import ValidationError

from ..errors import ConfigError
from ..templating import compile_check
from ..validation import DEFAULT_DRAFT, check_schema, ref_problems
from .handlers import HOOK_KINDS, HandlerKind, source_problem
from .loader import parse_json
from .mains import foreign_main_message, javascript_hooks, main_language
from .metadata import upgrade_schema
from .models import NAME_PATTERN, VIEW_CLASSES, ComponentModel
from .paths import outside_problem

Severity = Literal["error", "warning"]

__all__ = ["Problem", "component_json_schema", "validate_component"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    pointer: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}: {self.pointer or '/'}: {prefix}{self.message}"


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
        elif last and isinstance(cur, dict):
            parts.append(_escape(part))  # a key that is missing or not allowed
        else:
            label = str(part)
            if label == "str" and not isinstance(cur, str):
                return "", False
            if label.startswith("list[") and not isinstance(cur, list):
                return "", False
            if label.startswith(("dict[", "function-")) and not isinstance(cur, dict):
                return "", False
            if last:
                parts.append(_escape(part))
    return "/" + "/".join(parts), True


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {err['loc'][-1]!r}"
    if kind == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    if kind == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] == "viewClass":
        return f"unknown viewClass {err['input']!r}{_did_you_mean(str(err['input']), VIEW_CLASSES)}"
    msg = str(err["msg"])
    if kind == "literal_error":
        return f"{msg}, got {err['input']!r}"
    return msg


def _close(name: str, known: Any) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, list(known), n=1)
    return found[0] if found else None


def _did_you_mean(name: str, known: Any) -> str:
    close = _close(name, known)
    return f" (did you mean {close!r}?)" if close is not None else ""


def _handler_problem(folder: Path, main: str, kind: HandlerKind) -> str | None:
    if outside := outside_problem(folder, main, "main"):
        return outside
    file = (folder / main).resolve()
    if file.suffix != ".py":
        return f"main {main!r} must name a .py file"
    if not file.is_file():
        return f"main {main!r}: file not found"
    return source_problem(file.read_text(encoding="utf-8"), main, kind)


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
        problems.extend(Problem(label, pointer, message) for pointer, message in _model_problems(data, exc))

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
    for key, handler_kind in (("verifyCredentials", "verify"), ("selectModels", "select")):
        problems.extend(Problem(label, p, m) for p, m in compile_check(data.get(key), f"/{key}"))
        for p, main in _mains(data.get(key), f"/{key}"):
            if msg := _handler_problem(base, main, cast(HandlerKind, handler_kind)):
                problems.append(Problem(label, p, msg))
    foreign = _has_foreign_mains(data)
    if model is not None:
        problems.extend(_select_model_problems(label, data, foreign))
    problems.extend(_view_class_warnings(label, data))
    verifier = (data.get("credentials") or {}).get("verifier") if isinstance(data.get("credentials"), dict) else None
    if isinstance(verifier, str) and not data.get("verifyCredentials"):
        problems.append(
            Problem(
                label,
                "/credentials/verifier",
                f"verifier {verifier!r} is a {main_language(verifier)} credentials check: add 'verifyCredentials' "
                "(a declarative request or a Python handler) for skiff verify",
                "warning",
            )
        )
    return problems


def _model_problems(data: dict[str, Any], exc: ValidationError) -> list[tuple[str, str]]:
    """``(pointer, message)`` for each error of the models, once each.

    A misspelt key is one line: ``unknown key 'vaule' (did you mean 'value'?)`` stands for the
    "missing required key 'value'" it causes as well.
    """
    located = [(err, *_pointer_from_loc(data, tuple(err["loc"]))) for err in exc.errors()]
    errors = [(err, pointer) for err, pointer, relevant in located if relevant]
    missing = {pointer: str(err["loc"][-1]) for err, pointer in errors if err["type"] == "missing"}
    covered: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for err, pointer in errors:
        message = _message(err)
        if err["type"] == "extra_forbidden":
            parent = pointer.rsplit("/", 1)[0]
            absent = [key for at, key in missing.items() if at.rsplit("/", 1)[0] == parent]
            close = _close(str(err["loc"][-1]), [*_allowed_keys(tuple(err["loc"][:-1])), *absent])
            if close is not None:
                message += f" (did you mean {close!r}?)"
                covered.add(f"{parent}/{_escape(close)}")
        out.append((err["type"], pointer, message))
    kept = [(pointer, message) for kind, pointer, message in out if not (kind == "missing" and pointer in covered)]
    return list(dict.fromkeys(kept))


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model accepts at ``loc`` (for a did-you-mean on an unknown key)."""
    from pydantic import BaseModel

    model: Any = ComponentModel
    skip = False  # the next part is a key of a dict (a function or field name) or a list index
    for part in loc:
        if skip or isinstance(part, int):
            skip = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            # A base model whose concrete model a tag in the location names (an auth entry's type).
            tagged = getattr(model, "model_for_tag", lambda _: None)(str(part))
            if tagged is None:
                return []
            model = tagged
            continue
        model, skip = _model_of(field.annotation), _is_container(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _is_container(annotation: Any) -> bool:
    from typing import get_args, get_origin

    if get_origin(annotation) in (dict, list):
        return True
    return any(get_origin(arg) in (dict, list) for arg in get_args(annotation))


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None``, ``dict[str, X]`` or ``list[X]``."""
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _has_foreign_mains(data: dict[str, Any]) -> bool:
    for kind in ("triggers", "actions"):
        block = data.get(kind)
        if isinstance(block, dict):
            for fn in block.values():
                main = fn.get("main") if isinstance(fn, dict) else None
                if isinstance(main, str) and main_language(main) in ("javascript", "java"):
                    return True
    return False


def _view_class_warnings(label: str, data: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    for pointer, fields in _all_fields(data):
        for fname, field in fields.items():
            view = field.get("viewClass") if isinstance(field, dict) else None
            if isinstance(view, str) and view.endswith("View") and view[:1].isupper() and view not in VIEW_CLASSES:
                out.append(
                    Problem(
                        label,
                        f"{pointer}/{_escape(fname)}/viewClass",
                        f"unknown viewClass {view!r}{_did_you_mean(view, VIEW_CLASSES)}: skiff renders it as a "
                        "text field",
                        "warning",
                    )
                )
    return out


def _all_fields(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    creds = data.get("credentials")
    if isinstance(creds, dict) and isinstance(creds.get("fields"), dict):
        found.append(("/credentials/fields", creds["fields"]))
    for kind in ("triggers", "actions"):
        block = data.get(kind)
        if isinstance(block, dict):
            for name, fn in block.items():
                if isinstance(fn, dict) and isinstance(fn.get("fields"), dict):
                    found.append((f"/{kind}/{_escape(name)}/fields", fn["fields"]))
    return found


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


def _hook_problems(base: Path, main: str) -> list[str]:
    """The optional ``init``/``startup``/``shutdown`` next to ``process``: wrong parameters are errors."""
    source = (base / main).resolve().read_text(encoding="utf-8")
    return [msg for hook in HOOK_KINDS if (msg := source_problem(source, main, hook))]


def _foreign_hooks(base: Path, main: str) -> str:
    """A JavaScript main's hooks, named in its warning: skiff runs none of them."""
    if outside_problem(base, main, "main"):
        return ""
    file = (base / main).resolve()
    try:
        names = javascript_hooks(file.read_text(encoding="utf-8")) if file.is_file() else []
    except (OSError, UnicodeDecodeError):
        return ""
    return f"; its hooks {', '.join(names)} are not run either" if names else ""


def _function_problems(
    base: Path, label: str, pointer: str, fn: dict[str, Any], kind: str, data: dict[str, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    main = fn.get("main")
    declarative = bool(fn.get("request") or fn.get("polling"))
    if isinstance(main, str):
        foreign = foreign_main_message(kind[:-1], pointer.rsplit("/", 1)[-1], main)
        if foreign is not None:
            if not declarative:
                problems.append(Problem(label, f"{pointer}/main", foreign + _foreign_hooks(base, main), "warning"))
        else:
            if msg := _handler_problem(base, main, "trigger" if kind == "triggers" else "action"):
                problems.append(Problem(label, f"{pointer}/main", msg))
            else:
                problems.extend(Problem(label, f"{pointer}/main", m) for m in _hook_problems(base, main))
                if fn.get("dynamicMetadata") is True and (msg := _handler_problem(base, main, "metadata")):
                    problems.append(Problem(label, f"{pointer}/dynamicMetadata", msg))
    elif not declarative:
        problems.append(Problem(label, pointer, "needs 'main' (a handler) or a declarative 'request'/'polling'"))
    if kind == "triggers" and fn.get("type") not in (None, "polling", "webhook"):
        problems.append(Problem(label, f"{pointer}/type", "a trigger's type must be 'polling' or 'webhook'"))
    for key in ("request", "polling"):
        problems.extend(Problem(label, p, m) for p, m in compile_check(fn.get(key), f"{pointer}/{key}"))
    metadata = fn.get("metadata") or {}
    if isinstance(metadata, dict):
        for direction in ("in", "out"):
            value = metadata.get(direction)
            mp = f"{pointer}/metadata/{direction}"
            if isinstance(value, str):
                if outside := outside_problem(base, value, "schema"):
                    problems.append(Problem(label, mp, outside))
                    continue
                path = (base / value).resolve()
                try:
                    schema = parse_json(path)
                except ConfigError as exc:
                    problems.append(Problem(label, mp, f"{value}: {exc.message}"))
                    continue
                if msg := check_schema(upgrade_schema(schema)) or next(iter(ref_problems(schema, base)), None):
                    problems.append(Problem(label, mp, f"{value}: {msg}"))
            elif isinstance(value, dict) and (
                msg := check_schema(upgrade_schema(value)) or next(iter(ref_problems(value, base)), None)
            ):
                problems.append(Problem(label, mp, msg))
    return problems


def _select_model_problems(label: str, data: dict[str, Any], foreign: bool) -> list[Problem]:
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
                where = f"{pointer}/{_escape(fname)}/model"
                if foreign:
                    # elastic.io: a function of the JavaScript/Java component's modules.
                    problems.append(
                        Problem(
                            label,
                            where,
                            f"select model {model!r} is a function of the component's JavaScript/Java code: add "
                            f"selectModels.{model} (a request or a Python handler) for skiff select",
                            "warning",
                        )
                    )
                else:
                    problems.append(
                        Problem(label, where, f"unknown select model {model!r}{_did_you_mean(model, models)}")
                    )
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
    schema["$schema"] = DEFAULT_DRAFT
    schema["$id"] = "https://skiff.dev/schemas/component.json"
    schema["title"] = "skiff component.json"
    return json.loads(json.dumps(schema, sort_keys=True))  # type: ignore[no-any-return]
