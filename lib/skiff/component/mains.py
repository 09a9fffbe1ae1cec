"""What a ``main`` names: a Python handler skiff runs, or a JavaScript/Java one it cannot.

A genuine elastic.io component names Node.js modules (``./lib/actions/x.js``) or Java classes
(``io.elastic.jdbc.actions.Select``). skiff loads and describes such a component, and says per
function what it needs to run: a Python handler or a declarative request.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Language", "foreign_main_message", "javascript_hooks", "main_language"]

Language = Literal["python", "javascript", "java", "unknown"]

_JAVA_CLASS = re.compile(r"^[a-z_][\w]*(\.[A-Za-z_][\w$]*)+$")
# How a sailor module offers its hooks: ``exports.startup = ...``, ``module.exports = {startup}``
# with ``function startup(...)``, or ``async function init(...)``.
_JS_HOOK = re.compile(r"\b(?:exports\.|function\s+)(init|startup|shutdown)\b")


def main_language(main: str) -> Language:
    lowered = main.lower()
    if lowered.endswith(".py"):
        return "python"
    if lowered.endswith((".js", ".mjs", ".cjs", ".ts")):
        return "javascript"
    if "/" not in main and _JAVA_CLASS.match(main) and not lowered.endswith((".json", ".yaml", ".yml")):
        return "java"
    return "unknown"


def foreign_main_message(kind: str, name: str, main: str) -> str | None:
    """The warning for a JavaScript or Java ``main``; None for anything else."""
    language = main_language(main)
    if language not in ("javascript", "java"):
        return None
    what = "a JavaScript module" if language == "javascript" else "a Java class"
    return (
        f"main {main!r} is {what}: {kind} {name!r} needs a Python handler (a .py main with "
        f"'process') or a declarative 'request' to run in skiff"
    )


def javascript_hooks(source: str) -> list[str]:
    """The sailor hooks (``init``, ``startup``, ``shutdown``) a JavaScript module appears to define."""
    found = set(_JS_HOOK.findall(source))
    return [name for name in ("init", "startup", "shutdown") if name in found]
