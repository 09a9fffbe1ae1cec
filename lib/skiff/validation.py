"""JSON Schema validation, compiled once per schema and shared by cfg, input and output checks.

One place decides the validator so that it can be swapped for a faster one without touching
the executor (see ``bench/``). Errors come back as ``(path, message)`` with the path written
the way a flow builder user reads it: ``body.items[2].price``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

__all__ = ["SchemaValidator", "check_schema", "compile_schema", "format_path"]


def format_path(root: str, path: Iterable[Any]) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


class SchemaValidator:
    """A compiled JSON Schema; ``errors`` lists at most ``limit`` problems, most specific first.

    Valid instances (the common case: every record of a sync) are checked by fastjsonschema,
    which compiles the schema to Python and is about 25x faster than jsonschema on Billbee's
    order schema (see ``bench/validators.py``). jsonschema stays the reference: it confirms
    every rejection and writes the messages, so both always agree on what is valid.
    """

    __slots__ = ("_calls", "_fast", "_validator", "schema")

    # Compiling costs ~30 ms on a large schema: worth it for a sync, not for a one-off call
    # (a cfg or input check runs once per message), so the first checks use jsonschema alone.
    COMPILE_AFTER = 8

    def __init__(self, schema: Mapping[str, Any], base_dir: Path | None = None) -> None:
        self.schema = dict(schema)
        cls = validator_for(self.schema, default=Draft202012Validator)
        registry: Registry[Any] = Registry(retrieve=_file_retriever(base_dir))  # type: ignore[call-arg]
        self._validator = cls(self.schema, registry=registry)
        self._fast: Any = None
        self._calls = 0

    def is_valid(self, instance: Any) -> bool:
        if self._calls <= self.COMPILE_AFTER:
            self._calls += 1
            if self._calls == self.COMPILE_AFTER:
                self._fast = _compile_fast(self.schema)
        if self._fast is not None:
            try:
                self._fast(instance)
                return True
            except fastjsonschema.JsonSchemaException:
                pass  # confirm with the reference validator below
        return bool(self._validator.is_valid(instance))

    def errors(self, instance: Any, root: str = "", limit: int = 5) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for err in sorted(self._validator.iter_errors(instance), key=lambda e: -len(e.absolute_path)):
            best = jsonschema.exceptions.best_match([err]) or err
            found.append((format_path(root, best.absolute_path), _short(best)))
            if len(found) >= limit:
                break
        return found


def _compile_fast(schema: dict[str, Any]) -> Any:
    """fastjsonschema for drafts 4 to 7 without external references; None otherwise."""
    draft = str(schema.get("$schema", ""))
    if "2019-09" in draft or "2020-12" in draft or '"$ref": "./' in json.dumps(schema):
        return None
    try:
        return fastjsonschema.compile(schema, use_formats=False)
    except Exception:  # an unsupported construct: the reference validator alone is still right
        return None


def _short(err: jsonschema.ValidationError) -> str:
    if err.validator == "required":
        return str(err.message).replace(" is a required property", " is required")
    msg = str(err.message)
    return msg if len(msg) <= 200 else msg[:197] + "..."


def _file_retriever(base_dir: Path | None) -> Any:
    def retrieve(uri: str) -> Resource[Any]:
        if base_dir is None:
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        path = (base_dir / uri.removeprefix("file://")).resolve()
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NoSuchResource(ref=uri) from exc  # type: ignore[call-arg]
        return Resource.from_contents(contents, default_specification=_DEFAULT_SPEC)

    return retrieve


_DEFAULT_SPEC = DRAFT202012


@lru_cache(maxsize=1024)
def _compile_cached(key: str, base: str | None) -> SchemaValidator:
    return SchemaValidator(json.loads(key), Path(base) if base else None)


def compile_schema(schema: Mapping[str, Any], base_dir: Path | None = None) -> SchemaValidator:
    """Compile (and cache by content) a schema; equal schemas share one validator."""
    key = json.dumps(schema, sort_keys=True)
    return _compile_cached(key, str(base_dir) if base_dir else None)


def check_schema(schema: Any) -> str | None:
    """None when ``schema`` is a valid JSON Schema, else a one-line reason."""
    if not isinstance(schema, dict | bool):
        return "a JSON Schema must be an object"
    if isinstance(schema, bool):
        return None
    cls = validator_for(schema, default=Draft7Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = format_path("", exc.absolute_path)
        return f"not a valid JSON Schema at {where}: {exc.message}"
    return None
