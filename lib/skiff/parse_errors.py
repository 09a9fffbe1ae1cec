"""One line for a JSON or YAML syntax error: what is wrong, at which line and column."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["syntax_error_line"]


def syntax_error_line(exc: Exception) -> str:
    """``invalid YAML at line 3, column 7: mapping values are not allowed here`` (1-based)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    # PyYAML's MarkedYAMLError (and ruamel's) carry 0-based marks; the problem mark is where it broke.
    mark: Any = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"
