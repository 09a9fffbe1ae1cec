"""Names and template expressions the generator writes into component.json."""

from __future__ import annotations

import keyword
import re

from ..component.models import NAME_PATTERN

__all__ = ["NAME_PATTERN", "access", "action_name", "camel", "humanize", "unique"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Jinja2 keywords and literals cannot follow a dot; dict methods would shadow a missing key
# (``body.items`` is the method when the message has no "items").
_RESERVED = {
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "for",
    "with",
    "without",
    "import",
    "from",
    "as",
    "set",
    "block",
    "macro",
    "call",
    "filter",
    "loop",
    "self",
    "super",
    "recursive",
}
_DICT_ATTRS = set(dir(dict))


def camel(text: str) -> str:
    """``OrderApi_GetList`` → ``orderApiGetList``; ``get-all_items`` → ``getAllItems``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", text) if p]
    if not parts:
        return ""
    first = parts[0]
    # An all-caps first word ("API_Get") reads better fully lowered ("apiGet").
    head = first.lower() if first.isupper() else first[0].lower() + first[1:]
    name = head + "".join(p[0].upper() + p[1:] for p in parts[1:])
    if name[0].isdigit():
        name = "op" + name[0].upper() + name[1:]
    return name


def action_name(operation_id: str | None, method: str, path: str) -> str:
    """A component.json name for an operation: camelCase operationId, else method + path."""
    if operation_id and (name := camel(operation_id)):
        return name
    words = [method.lower()]
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            words.append("by_" + segment[1:-1])
        elif segment:
            words.append(segment)
    return camel("_".join(words)) or method.lower()


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name2``, ``name3``… : the first not in ``taken`` (which gains it)."""
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def humanize(text: str) -> str:
    """``LayoutApi_GetList`` → ``Layout api get list`` (a title for an operation without summary)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", re.sub(r"[^A-Za-z0-9]+", " ", text)).strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else text


def access(var: str, key: str) -> str:
    """A Jinja2 expression reading ``key`` of mapping ``var``: ``body.id`` or ``body['X-Id']``."""
    if _IDENT.match(key) and key not in _RESERVED and key not in _DICT_ATTRS and not keyword.iskeyword(key):
        return f"{var}.{key}"
    quoted = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{var}['{quoted}']"
