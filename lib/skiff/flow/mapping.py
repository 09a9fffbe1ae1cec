"""JSONata expressions of a flow (mappings, conditions, splits), compiled once, with located errors.

JSONata is the mapping language of elastic.io's mapper; skiff evaluates it with ``jsonata-python``
(a maintained pure-Python port of the reference implementation). An expression sees the incoming
body as ``$`` and the bodies of earlier steps as ``$passthrough.<stepId>``. Any failure, at compile
time or per message, is a :class:`MappingError` that names the step, the expression and the
position in it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InputError

__all__ = ["Expression", "MappingError", "truthy"]


class MappingError(InputError):
    """A JSONata expression failed to compile or to evaluate; says where."""

    kind = "MappingError"

    def __init__(
        self,
        message: str,
        *,
        step: str,
        field: str,
        expression: str,
        position: int | None,
        code: str | None = None,
    ) -> None:
        self.step = step
        self.field = field
        self.expression = expression
        self.position = position
        self.code = code
        where = f"step {step!r} {field}"
        if position is not None:
            line, column = line_column(expression, position)
            multiline = "\n" in expression.strip()
            where += f" at line {line}, column {column}" if multiline else f" at position {position + 1}"
        self.detail = f"{code + ': ' if code else ''}{message} in {_excerpt(expression, position)}"
        super().__init__(f"{where}: {self.detail}")


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset."""
    position = max(0, min(position, len(text)))
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return line, column


def _excerpt(expression: str, position: int | None) -> str:
    """The expression on one line, with ``⟨here⟩`` marking the position (shortened when long)."""
    flat = " ".join(expression.split()) if position is None else expression
    if position is None:
        return repr(flat if len(flat) <= 120 else flat[:117] + "...")
    position = max(0, min(position, len(expression)))
    left, right = expression[:position], expression[position:]
    left = " ".join(left.split())[-60:] + (" " if left[-1:].isspace() else "")
    right = " ".join(right.split())[:60]
    return repr(f"{left}⟨here⟩{right}")


def truthy(value: Any) -> bool:
    """JSONata's boolean casting: empty strings, 0, empty arrays and objects, null and undefined are false."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, list):
        return any(truthy(v) for v in value)
    if isinstance(value, dict):
        return bool(value)
    return True


def _plain(value: Any) -> Any:
    """jsonata-python returns its own list type; hand plain JSON values to the rest of skiff."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class Expression:
    """One compiled JSONata expression of one step's ``field`` (mapping, when, split, ...)."""

    __slots__ = ("_compiled", "field", "source", "step")

    def __init__(self, source: str, *, step: str, field: str) -> None:
        self.source = source
        self.step = step
        self.field = field
        import jsonata

        try:
            self._compiled = jsonata.Jsonata(source)
        except Exception as exc:
            raise self._error(exc) from None

    def evaluate(self, data: Any, bindings: Mapping[str, Any] | None = None) -> Any:
        """The result as plain JSON values; ``None`` when the expression is undefined."""
        try:
            result = self._compiled.evaluate(data, dict(bindings or {}))
        except RecursionError:
            raise MappingError(
                "too deeply nested", step=self.step, field=self.field, expression=self.source, position=None
            ) from None
        except Exception as exc:
            raise self._error(exc) from None
        return _plain(result)

    def _error(self, exc: Exception) -> MappingError:
        info = getattr(exc, "__dict__", {})
        code = info.get("error")
        location = info.get("location")
        position: int | None = location if isinstance(location, int) and location >= 0 else None
        current = info.get("current")
        if position is None and isinstance(current, str) and current and self.source.count(current) == 1:
            # Evaluation errors come without a location; the offending token often is unique.
            position = self.source.index(current)
        elif position is not None and current is not None:
            token = str(current)
            if token and self.source[max(0, position - len(token)) : position] == token:
                position -= len(token)  # jsonata reports the offset just after the offending token
        message = str(exc).strip() or type(exc).__name__
        return MappingError(
            message,
            step=self.step,
            field=self.field,
            expression=self.source,
            position=position,
            code=str(code) if code else None,
        )
