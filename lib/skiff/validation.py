"""JSON Schema validation, compiled once per schema and shared by cfg, input and output checks.

One place decides the validator so that it can be swapped without touching the executor.
Valid instances (the common case: every record of a sync) are checked by jsonschema-rs, which
compiles a 44 KB order schema in ~3 ms and validates a record ~100x faster than
jsonschema (``bench/validators.py``). jsonschema stays the reference: it confirms every
rejection and writes the messages, so both always agree on what is invalid, and it is imported
only when a message is needed (it costs ~50 ms at start-up).

Errors come back as ``(path, message)`` with the path written the way a flow builder user
reads it: ``body.items[2].price``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["DEFAULT_DRAFT", "SchemaValidator", "check_schema", "compile_schema", "format_path", "ref_problems"]

DEFAULT_DRAFT = "https://json-schema.org/draft/2020-12/schema"
"""The draft of a schema without ``$schema``: for checking schemas and validating data alike."""


def format_path(root: str, path: Iterable[Any]) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


class SchemaValidator:
    """A compiled JSON Schema; ``errors`` lists at most ``limit`` problems, most specific first."""

    __slots__ = ("_base_dir", "_fast", "_reference", "schema")

    def __init__(self, schema: Mapping[str, Any], base_dir: Path | None = None) -> None:
        self.schema = dict(schema)
        self._base_dir = base_dir
        if problems := ref_problems(self.schema, base_dir):
            raise ConfigError(problems[0])
        self._reference: Any = None
        self._fast = _compile_fast(self.schema)

    def _ref_validator(self) -> Any:
        if self._reference is None:
            from referencing import Registry

            cls = _validator_class(self.schema)
            registry: Registry[Any] = Registry(retrieve=_file_retriever(self._base_dir))  # type: ignore[call-arg]
            self._reference = cls(self.schema, registry=registry)
        return self._reference

    def is_valid(self, instance: Any) -> bool:
        if self._fast is not None and self._fast(instance):
            return True
        # Rejected by the fast path (or none): the reference validator decides.
        return bool(self._ref_validator().is_valid(instance))

    def errors(self, instance: Any, root: str = "", limit: int = 5) -> list[tuple[str, str]]:
        from jsonschema.exceptions import best_match

        found: list[tuple[str, str]] = []
        for err in sorted(self._ref_validator().iter_errors(instance), key=lambda e: -len(e.absolute_path)):
            best = best_match([err]) or err
            found.append((format_path(root, best.absolute_path), _short(best)))
            if len(found) >= limit:
                break
        return found


_SIMPLE_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _compile_flat(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A plain-Python check for flat object schemas (every cfg schema: ``properties`` that
    declare only a ``type``, and ``required``), so a call whose schemas are all of this kind
    never loads jsonschema-rs (~4 MB). It only ever says "valid" when the schema agrees: an
    integer written as 1.0 and the like are left to the reference validator."""
    if set(schema) - {"type", "properties", "required"} or schema.get("type") != "object":
        return None
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    checks: list[tuple[str, tuple[Callable[[Any], bool], ...]]] = []
    for name, sub in properties.items():
        if not isinstance(sub, dict) or set(sub) - {"type"}:
            return None
        if not sub:
            continue  # {}: anything goes
        types = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
        if not all(isinstance(t, str) and t in _SIMPLE_TYPES for t in types):
            return None
        checks.append((name, tuple(_SIMPLE_TYPES[t] for t in types)))
    needed = tuple(required)

    def is_valid(instance: Any) -> bool:
        if not isinstance(instance, dict) or not all(name in instance for name in needed):
            return False
        return all(name not in instance or any(ok(instance[name]) for ok in accept) for name, accept in checks)

    return is_valid


def _compile_fast(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """jsonschema-rs's ``is_valid`` for self-contained schemas; None when it cannot be used."""
    flat = _compile_flat(schema)
    if flat is not None:
        return flat
    if _refs(schema, local=False):  # file references: the reference validator resolves them (confined)
        return None
    try:
        import jsonschema_rs
    except ImportError:  # a platform without a wheel: jsonschema alone is still correct
        return None
    try:
        validator = jsonschema_rs.validator_for(schema, validate_formats=False)
    except Exception:  # an unsupported construct: the reference validator alone is still right
        return None
    is_valid: Callable[[Any], bool] = validator.is_valid
    return is_valid


def _short(err: Any) -> str:
    if err.validator == "required":
        return str(err.message).replace(" is a required property", " is required")
    msg = str(err.message)
    return msg if len(msg) <= 200 else msg[:197] + "..."


def _refs(schema: Any, *, local: bool) -> list[str]:
    """Every ``$ref`` in ``schema``; with ``local=False`` only those that leave the document."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and (local or not ref.startswith("#")):
                found.append(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _ref_file(base_dir: Path, uri: str) -> Path | None:
    """The file a ``$ref`` names, if it is a relative or ``file:`` path inside ``base_dir``."""
    target = uri.split("#", 1)[0]
    if not target:
        return None
    if "://" in target and not target.startswith("file://"):
        return None
    # Imported here: skiff.component imports this module. Like ``main``: as written and with
    # every symlink resolved, inside the folder.
    from .component.paths import inside

    path = inside(base_dir, target.removeprefix("file://"))
    return None if path is None or path == Path(os.path.realpath(base_dir)) else path


def ref_problems(schema: Any, base_dir: Path | None) -> list[str]:
    """Each ``$ref`` that would reach outside the component: remote URLs, paths outside its folder."""
    problems = []
    for ref in _refs(schema, local=False):
        target = ref.split("#", 1)[0]
        if not target:
            continue
        if "://" in target and not target.startswith("file://"):
            problems.append(f"schema $ref {ref!r} is remote; only files inside the component folder are used")
        elif base_dir is None or _ref_file(base_dir, ref) is None:
            problems.append(f"schema $ref {ref!r} points outside the component folder")
    return problems


def _file_retriever(base_dir: Path | None) -> Any:
    from referencing import Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    def retrieve(uri: str) -> Resource[Any]:
        path = _ref_file(base_dir, uri) if base_dir is not None else None
        if path is None:  # remote, or outside the component: never fetched
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NoSuchResource(ref=uri) from exc  # type: ignore[call-arg]
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    return retrieve


@lru_cache(maxsize=1024)
def _compile_cached(key: str, base: str | None) -> SchemaValidator:
    return SchemaValidator(json.loads(key), Path(base) if base else None)


def compile_schema(schema: Mapping[str, Any], base_dir: Path | None = None) -> SchemaValidator:
    """Compile (and cache by content) a schema; equal schemas share one validator."""
    key = json.dumps(schema, sort_keys=True)
    return _compile_cached(key, str(base_dir) if base_dir else None)


def _python_patterns_compile(schema: Any) -> bool:
    """Whether every ``pattern`` compiles with Python's ``re`` too (jsonschema, which explains
    errors, uses it; the Rust validator accepts some ECMA-only syntax)."""
    import re

    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            patterns = [node.get("pattern"), *(node.get("patternProperties") or {})]
            for pattern in patterns:
                if isinstance(pattern, str):
                    try:
                        re.compile(pattern)
                    except re.error:
                        return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _validator_class(schema: Mapping[str, Any]) -> Any:
    """The validator of the schema's own ``$schema``, or of :data:`DEFAULT_DRAFT` (one default everywhere)."""
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    return validator_for(schema, default=Draft202012Validator)


def check_schema(schema: Any) -> str | None:
    """None when ``schema`` is a valid JSON Schema, else a one-line reason."""
    if not isinstance(schema, dict | bool):
        return "a JSON Schema must be an object"
    if isinstance(schema, bool):
        return None
    return _check_schema_cached(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=4096)
def _check_schema_cached(key: str) -> str | None:
    """One check per distinct schema: vendor components repeat their schemas across functions."""
    schema = json.loads(key)
    import jsonschema_rs

    try:
        # The Rust meta-validator answers "valid" ~400x faster than jsonschema does for large
        # vendor schemas (a whole validate of the repo went from ~20 s to under 1 s of CPU);
        # only a schema it doubts goes through jsonschema, whose verdict and message count.
        if jsonschema_rs.meta.is_valid(schema) and _python_patterns_compile(schema):
            return None
    except Exception:  # an unknown $schema and the like: jsonschema decides
        pass
    from jsonschema.exceptions import SchemaError

    cls = _validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = format_path("", exc.absolute_path)
        return f"not a valid JSON Schema at {where}: {exc.message}"
    return None
