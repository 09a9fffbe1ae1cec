"""One sandboxed Jinja2 environment for declarative requests and flow mappings.

Rules a component author can rely on:
- a string that is exactly one ``{{ expression }}`` yields the expression's native value
  (an int stays an int, a dict stays a dict); any other string renders to text;
- an undefined *variable* is an error (a typo in ``cfg``/``body`` must not send a wrong request);
- a missing *key* of a mapping yields ``None`` (optional inputs are the normal case);
- templates run in Jinja2's ``ImmutableSandboxedEnvironment``: no files, no environment, no
  attribute access to Python internals, no mutation of the context;
- a render gets at most ``MAX_RENDER_SECONDS`` and ``MAX_RENDER_CHARS`` (nested loops, ``"x" * 10**9``):
  a template is the author's, but it runs on every call and must not hang or eat memory;
- values (cfg, message bodies) are data: they are rendered only where the author put them in
  a template, never rendered themselves (see ``skiff.triggers``).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_RENDER_CHARS", "MAX_RENDER_SECONDS", "compile_check", "has_template", "render", "render_string"]

MAX_RENDER_SECONDS = 1.0
MAX_RENDER_CHARS = 1_000_000


class _TooCostly(Exception):
    """A render over its time or size budget."""


def _bounded_binop(op: str, left: Any, right: Any) -> Any:
    # "x" * 10**9 or [0] * 10**9 would allocate before any check could run; 9 ** 9 ** 9 too.
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_RENDER_CHARS:
                raise _TooCostly(f"a value of more than {MAX_RENDER_CHARS:,} items")
        return left * right
    if isinstance(left, int) and isinstance(right, int) and right * max(abs(left), 1).bit_length() > 65536:
        raise _TooCostly("a power that large")
    return left**right


def _limited(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(...)`` (a compiled template or expression), stopped once it runs past the time budget.

    A trace function sees every line the template's compiled code runs, nested loops included,
    and raises there: Python offers no other way to interrupt plain computation in-process.
    """
    deadline = time.monotonic() + MAX_RENDER_SECONDS
    previous = sys.gettrace()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _TooCostly(f"it ran longer than {MAX_RENDER_SECONDS:g} s")
        return tracer

    sys.settrace(tracer)
    try:
        return fn(*args, **kwargs)
    finally:
        sys.settrace(previous)


def _render_template(template: Any, context: Mapping[str, Any]) -> str:
    out: list[str] = []
    size = 0

    def run() -> None:
        nonlocal size
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_RENDER_CHARS:
                raise _TooCostly(f"it rendered more than {MAX_RENDER_CHARS:,} characters")
            out.append(chunk)

    _limited(run)
    return "".join(out)


_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@cache
def _env() -> Any:
    """The sandboxed environment, built on first use: templates that are plain ``{{ a.b }}``
    paths (most of them) never need Jinja2, which costs ~25 ms to import at start-up."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Environment(ImmutableSandboxedEnvironment):
        """Missing mapping keys give None; everything else is as strict as the sandbox."""

        def getattr(self, obj: Any, attribute: str) -> Any:
            if isinstance(obj, Mapping):
                if attribute in obj:
                    return obj[attribute]
                # Fall through for real dict methods (``body.get('x')``, ``cfg.items()``).
                if not hasattr(obj, attribute):
                    return None
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            if isinstance(obj, Mapping) and isinstance(argument, str | int) and argument not in obj:
                return None
            return super().getitem(obj, argument)

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator in ("*", "**"):
                return _bounded_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    return env


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text


@lru_cache(maxsize=4096)
def _compile_expression(expr: str) -> Any:
    return _env().compile_expression(expr, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compile_template(text: str) -> Any:
    return _env().from_string(text)


def _single_expression(text: str) -> str | None:
    m = _SINGLE_EXPR.match(text)
    if m is None:
        return None
    expr = m.group("expr")
    # "{{ a }} and {{ b }}" also matches the regex lazily; a real single expression has no "}}".
    if "}}" in expr or "{{" in expr or "{%" in text:
        return None
    return expr


_PLAIN = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")
_NO_FAST = object()


@lru_cache(maxsize=4096)
def _plan(text: str) -> tuple[Any, ...] | None:
    """Literal text and dotted paths, when every expression is a plain ``{{ a.b.c }}``.

    Most templates are that simple (``/orders/{{ body.id }}``); resolving them directly skips
    Jinja's per-render context (~15 us a string, paid on every call). Anything else: None.
    """
    if "{%" in text or "{#" in text:
        return None
    parts: list[Any] = []
    pos = 0
    for m in _PLAIN.finditer(text):
        parts.append(text[pos : m.start()])
        parts.append(tuple(m.group(1).split(".")))
        pos = m.end()
    rest = text[pos:]
    if "{{" in rest or any("{{" in p for p in parts if isinstance(p, str)):
        return None
    parts.append(rest)
    return tuple(parts)


def _lookup(path: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    if path[0] not in context:
        return _NO_FAST  # undefined variable: let Jinja raise its own message
    value = context[path[0]]
    for key in path[1:]:
        if not isinstance(value, Mapping):
            return _NO_FAST
        if key in value:
            value = value[key]
        elif hasattr(value, key):
            return _NO_FAST  # a dict method (``items``): Jinja's semantics apply
        else:
            return None
    return value


def _fast(text: str, context: Mapping[str, Any]) -> Any:
    plan = _plan(text)
    if plan is None:
        return _NO_FAST
    if len(plan) == 3 and not plan[0].strip() and not plan[2].strip():
        return _lookup(plan[1], context)  # a single expression keeps its native type
    out: list[str] = []
    for part in plan:
        if isinstance(part, str):
            out.append(part)
            continue
        value = _lookup(part, context)
        if value is _NO_FAST:
            return _NO_FAST
        out.append(str(value))
    return "".join(out)


def _clip(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


def render_string(text: str, context: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Render one template string; see the module doc for the native-value rule."""
    if not has_template(text):
        return text
    value = _fast(text, context)
    if value is not _NO_FAST:
        return value
    from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        expr = _single_expression(text)
        if expr is not None:
            value = _limited(_compile_expression(expr), **context)
            if isinstance(value, StrictUndefined):
                str(value)  # raises UndefinedError with Jinja's own message
            if isinstance(value, str) and len(value) > MAX_RENDER_CHARS:
                raise _TooCostly(f"it rendered more than {MAX_RENDER_CHARS:,} characters")
            return value
        return _render_template(_compile_template(text), context)
    except _TooCostly as exc:
        raise ConfigError(f"template {_clip(text)!r} stopped: {exc}", where=where) from None
    except RecursionError:
        raise ConfigError(f"template {_clip(text)!r} stopped: nested too deeply", where=where) from None
    except UndefinedError as exc:
        raise ConfigError(f"template {text!r}: {exc.message}", where=where) from None
    except SecurityError as exc:
        raise ConfigError(f"template {text!r} is not allowed: {exc}", where=where) from None
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template {text!r}: syntax error: {exc.message}", where=where) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise ConfigError(f"template {text!r}: {type(exc).__name__}: {exc}", where=where) from None


def render(value: Any, context: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Render every template string inside ``value`` (strings, lists and dicts, recursively)."""
    if isinstance(value, str):
        return render_string(value, context, where=where)
    if isinstance(value, list):
        return [render(v, context, where=where) for v in value]
    if isinstance(value, dict):
        return {k: render(v, context, where=where) for k, v in value.items()}
    return value


def _check_one(text: str) -> str | None:
    from jinja2 import TemplateSyntaxError

    try:
        expr = _single_expression(text)
        if expr is not None:
            _env().parse("{{" + expr + "}}")
        else:
            _env().parse(text)
    except TemplateSyntaxError as exc:
        return f"template syntax error in {text!r}: {exc.message}"
    return None


def compile_check(value: Any, pointer: str = "") -> list[tuple[str, str]]:
    """Syntax-check every template in ``value``; returns ``(json_pointer, message)`` pairs."""
    problems: list[tuple[str, str]] = []
    if isinstance(value, str):
        if has_template(value) and (msg := _check_one(value)):
            problems.append((pointer, msg))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problems.extend(compile_check(v, f"{pointer}/{i}"))
    elif isinstance(value, dict):
        for k, v in value.items():
            key = str(k).replace("~", "~0").replace("/", "~1")
            problems.extend(compile_check(v, f"{pointer}/{key}"))
    return problems


def referenced_names(text: str) -> set[str]:
    """Top-level variable names a template uses (for validation messages)."""
    from jinja2 import TemplateSyntaxError, nodes

    try:
        ast = _env().parse(text)
    except TemplateSyntaxError:
        return set()
    return {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
