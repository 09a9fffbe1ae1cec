"""A flow file as text: load with located errors, and save preserving comments and layout.

:class:`FlowDocument` keeps the comment-preserving YAML tree (``ruamel.yaml`` round-trip mode)
beside the validated :class:`~skiff.flow.model.Flow`. ``dumps()`` of an unchanged document is the
original text byte for byte; ``with_flow()`` writes changed values into the tree, so comments,
key order, quoting and block scalars of everything unchanged survive an edit (what the studio's
canvas needs). :func:`dump_flow` writes a new file in the canonical layout.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from .model import Flow

__all__ = ["FlowDocument", "FlowFileError", "Problem", "dump_flow", "format_path"]

# The canonical layout: two-space mappings, sequences indented under their key.
_CANONICAL = (2, 4, 2)
_LAYOUTS = (_CANONICAL, (2, 2, 0))


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a flow file, at a line and column (1-based)."""

    source: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}:{self.line}:{self.column}: {where}{self.message}"


class FlowFileError(ConfigError):
    """A flow file that cannot be used; ``problems`` lists each one with its location."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid flow file"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""))


def format_path(loc: Iterable[Any]) -> str:
    """``("steps", 1, "mapping")`` → ``steps[1].mapping``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml(layout: tuple[int, int, int] = _CANONICAL) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines (a JSONata expression stays where it was)
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _to_plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


class FlowDocument:
    """A loaded flow file: ``flow`` (the validated model), ``data`` (the YAML tree) and ``text``."""

    def __init__(self, text: str, data: Any, flow: Flow, *, source: str, layout: tuple[int, int, int]) -> None:
        self.text = text
        self.data = data
        self.flow = flow
        self.source = source
        self._layout = layout

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path) -> FlowDocument:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the flow file: {exc.strerror or exc}") from None
        return cls.loads(text, source=str(p))

    @classmethod
    def loads(cls, text: str, *, source: str = "<flow>") -> FlowDocument:
        """Parse and validate (the file's own structure; see :func:`skiff.flow.check_flow` for the rest)."""
        data = parse_yaml(text, source)
        flow = _validate(data, source)
        layout = _detect_layout(text, data)
        return cls(text, data, flow, source=source, layout=layout)

    # ------------------------------------------------------------------ saving

    def dumps(self) -> str:
        """The document as YAML text: exactly the loaded text while nothing was changed."""
        stream = io.StringIO()
        _yaml(self._layout).dump(self.data, stream)
        return stream.getvalue()

    def save(self, path: str | Path | None = None) -> None:
        target = Path(path or self.source)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(target)

    def with_flow(self, flow: Flow | Mapping[str, Any]) -> FlowDocument:
        """A new document holding ``flow``; comments and layout of unchanged parts are kept."""
        model = flow if isinstance(flow, Flow) else _validate(flow, self.source)
        wanted = model.model_dump(mode="json", exclude_unset=True, by_alias=True)
        data = parse_yaml(self.dumps(), self.source)  # a copy of the tree, comments included
        written = {id(p) for p in _positions(data).values()}
        _merge(data, wanted)
        _compact_positions(data, keep=written)
        stream = io.StringIO()
        _yaml(self._layout).dump(data, stream)
        text = stream.getvalue()
        return FlowDocument(text, data, model, source=self.source, layout=self._layout)

    def to_dict(self) -> dict[str, Any]:
        """The document as plain JSON values, as written (defaults not filled in)."""
        plain: dict[str, Any] = _to_plain(self.data)
        return plain

    # ------------------------------------------------------------------ locations

    def locate(self, loc: Sequence[Any]) -> tuple[int, int]:
        """The 1-based line and column of a path such as ``("steps", 1, "mapping")``."""
        return locate(self.data, loc)

    def problem(self, loc: Sequence[Any], message: str) -> Problem:
        line, column = self.locate(loc)
        return Problem(self.source, line, column, format_path(loc), message)


def parse_yaml(text: str, source: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise FlowFileError([Problem(source, line, column, "", f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        raise FlowFileError([Problem(source, 1, 1, "", f"invalid YAML: {' '.join(str(exc).split())}")]) from None
    if not isinstance(data, Mapping):
        raise FlowFileError([Problem(source, 1, 1, "", "a flow file is a YAML mapping (name, trigger, steps)")])
    return data


def _validate(data: Any, source: str) -> Flow:
    try:
        return Flow.model_validate(_to_plain(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
            message = err["msg"]
            if err["type"] == "missing":
                message = f"'{loc[-1]}' is required"
                where = loc[:-1]
            elif err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'"
                where = loc
            else:
                where = loc
            message = message.removeprefix("Value error, ")
            at_key = err["type"] == "extra_forbidden"
            line, column = locate(data, where, at_key=at_key) if isinstance(data, Mapping) else (1, 1)
            problems.append(Problem(source, line, column, format_path(loc), message))
        problems.sort(key=lambda p: (p.line, p.column))
        raise FlowFileError(problems) from None


def locate(data: Any, loc: Sequence[Any], *, at_key: bool = False) -> tuple[int, int]:
    """Walk the ruamel tree as far as the path exists; the position of the deepest node found
    (of a scalar's value unless ``at_key``)."""
    node = data
    line, column = 0, 0
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and part in node:
                if lc is not None:
                    scalar = not isinstance(node[part], Mapping | list)
                    line, column = lc.value(part) if scalar and not at_key and part == loc[-1] else lc.key(part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                if lc is not None:
                    line, column = lc.item(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    else:
        lc = getattr(node, "lc", None)
        if not loc and lc is not None:
            line, column = lc.line, lc.col
    return line + 1, column + 1


def _detect_layout(text: str, data: Any) -> tuple[int, int, int]:
    """The sequence layout that reproduces the file (so an edit keeps the file's own style)."""
    for layout in _LAYOUTS:
        stream = io.StringIO()
        _yaml(layout).dump(data, stream)
        if stream.getvalue() == text:
            return layout
    return _CANONICAL


def _merge(node: Any, wanted: Any) -> Any:
    """Write ``wanted`` into the ruamel ``node`` in place where both are containers; else return the new value."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(node, CommentedMap) and isinstance(wanted, Mapping):
        for key in [k for k in node if k not in wanted]:
            del node[key]
        for key, value in wanted.items():
            if key in node:
                node[key] = _merge(node[key], value)
            else:
                node[key] = _merge(None, value)
        return node
    if isinstance(node, CommentedSeq) and isinstance(wanted, list):
        # Items are matched by their step id when they have one, else by position.
        by_id = {str(item.get("id")): item for item in node if isinstance(item, Mapping) and "id" in item}
        items = []
        for i, value in enumerate(wanted):
            old = by_id.get(str(value.get("id"))) if isinstance(value, Mapping) and "id" in value else None
            if old is None and i < len(node) and not (isinstance(node[i], Mapping) and "id" in node[i]):
                old = node[i]
            items.append(_merge(old, value))
        del node[:]
        node.extend(items)
        return node
    if isinstance(wanted, Mapping):
        fresh = CommentedMap()
        for key, value in wanted.items():
            fresh[key] = _merge(None, value)
        return fresh
    if isinstance(wanted, list):
        seq = CommentedSeq()
        seq.extend(_merge(None, v) for v in wanted)
        return seq
    if isinstance(wanted, str) and isinstance(node, str) and str(node) == wanted:
        return node  # unchanged: keep its quoting and block style
    if isinstance(wanted, str) and "\n" in wanted:
        return LiteralScalarString(wanted)
    if node is not None and not isinstance(node, str | Mapping | list) and node == wanted:
        return node
    return wanted


def dump_flow(flow: Flow | Mapping[str, Any]) -> str:
    """A flow as YAML text in the canonical layout (block scalars for multi-line expressions)."""
    model = flow if isinstance(flow, Flow) else Flow.model_validate(flow)
    plain = model.model_dump(mode="json", exclude_unset=True, by_alias=True)
    data = _merge(None, plain)
    _compact_positions(data, keep=set())
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def _positions(data: Any) -> Mapping[str, Any]:
    studio = data.get("studio") if isinstance(data, Mapping) else None
    positions = studio.get("positions") if isinstance(studio, Mapping) else None
    return positions if isinstance(positions, Mapping) else {}


def _compact_positions(data: Any, *, keep: set[int]) -> None:
    """New canvas positions as one line each (``order: {x: 20, y: 20}``); those already in the
    file (``keep``, by identity) keep the style they were written in."""
    for value in _positions(data).values():
        if id(value) not in keep and hasattr(value, "fa"):
            value.fa.set_flow_style()
