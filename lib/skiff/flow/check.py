"""Everything a flow file must get right beyond its shape, each problem at its line and column.

Step ids unique, error routes pointing at error steps and canvas positions at steps; components and functions that exist
(a trigger for the trigger, actions for the steps and lookups); ``cfg`` keys the function knows,
with no credential in them; JSONata that compiles (its error placed inside the file).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import SkiffError
from .document import FlowDocument, FlowFileError, Problem
from .mapping import Expression, MappingError, line_column
from .model import Flow, Step

__all__ = ["check_flow", "load_flow", "resolve_step_component"]

_EXPRESSIONS = ("mapping", "when", "split")


def resolve_step_component(ref: str, base: Path | None) -> Any:
    """A component by name, or by a folder path relative to the flow file."""
    from ..component import resolve_component

    if base is not None and ("/" in ref or ref.startswith(".")):
        candidate = (base / ref).resolve()
        if candidate.exists():
            return resolve_component(str(candidate))
    return resolve_component(ref)


def load_flow(path: str | Path) -> FlowDocument:
    """Load a flow file and check all of it; a :class:`FlowFileError` lists every problem."""
    doc = FlowDocument.load(path)
    problems = check_flow(doc)
    if problems:
        raise FlowFileError(problems)
    return doc


def check_flow(doc: FlowDocument) -> list[Problem]:
    """The problems of a loaded document, sorted by position (empty when the flow can run)."""
    flow = doc.flow
    base = Path(doc.source).parent if doc.source and not doc.source.startswith("<") else None
    problems: list[Problem] = []
    problems += _check_ids(doc, flow)
    problems += _check_function(doc, ("trigger",), flow.trigger.component, flow.trigger.function, "trigger", base, flow)
    for group in ("steps", "errorSteps"):
        for i, step in enumerate(getattr(flow, group)):
            problems += _check_step(doc, (group, i), step, base)
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def _check_ids(doc: FlowDocument, flow: Flow) -> list[Problem]:
    problems = []
    seen = {flow.trigger.id}
    error_ids = {s.id for s in flow.errorSteps}
    for group in ("steps", "errorSteps"):
        for i, step in enumerate(getattr(flow, group)):
            if step.id in seen:
                problems.append(doc.problem((group, i, "id"), f"step id {step.id!r} is used twice"))
            seen.add(step.id)
            if step.onError.route and step.onError.route not in error_ids:
                problems.append(
                    doc.problem(
                        (group, i, "onError", "route"),
                        f"{step.onError.route!r} is not an error step (declare it under errorSteps)",
                    )
                )
    if flow.studio is not None:
        for placed in flow.studio.positions:
            if placed not in seen:
                problems.append(doc.problem(("studio", "positions", placed), f"{placed!r} is not a step of this flow"))
    for name in _credential_refs(flow):
        if name is not None and not name.strip():
            problems.append(doc.problem(("credentials",), "a credential set needs a name"))
    return problems


def _credential_refs(flow: Flow) -> list[str | None]:
    return [flow.trigger.credentials, *(s.credentials for s in [*flow.steps, *flow.errorSteps])]


def _check_function(
    doc: FlowDocument,
    loc: tuple[Any, ...],
    component_ref: str,
    function_name: str,
    kind: str,
    base: Path | None,
    flow: Flow,
    *,
    cfg: Mapping[str, Any] | None = None,
    function_loc: tuple[Any, ...] | None = None,
) -> list[Problem]:
    try:
        component = resolve_step_component(component_ref, base)
    except SkiffError as exc:
        return [doc.problem((*loc, "component"), exc.message)]
    functions = component.model.triggers if kind == "trigger" else component.model.actions
    if function_name not in functions:
        other = component.model.actions if kind == "trigger" else component.model.triggers
        if function_name in other:
            what = "an action" if kind == "trigger" else "a trigger"
            message = f"{component.name}.{function_name} is {what}; a {kind} is needed here"
        else:
            from difflib import get_close_matches

            hint = get_close_matches(function_name, list(functions), n=1)
            message = f"{component.name} has no {kind} {function_name!r}" + (
                f" (did you mean {hint[0]!r}?)" if hint else ""
            )
        return [doc.problem(function_loc or (*loc, "function"), message)]
    step_cfg = dict(flow.trigger.cfg if cfg is None else cfg)
    return _check_cfg(doc, loc, component, component.function(function_name), step_cfg)


def _check_cfg(
    doc: FlowDocument, loc: tuple[Any, ...], component: Any, function: Any, cfg: Mapping[str, Any]
) -> list[Problem]:
    from ..http.redact import is_sensitive_name

    problems = []
    credential_fields = set(component.model.credentials.fields)
    known = set(function.fields)
    for key in cfg:
        where = (*loc, "cfg", key)
        if key in credential_fields or is_sensitive_name(key):
            problems.append(
                doc.problem(
                    where,
                    f"{key!r} is a credential: name a credential set in 'credentials' instead"
                    " (its values come from the environment or the credentials file)",
                )
            )
        elif key not in known:
            hint = f"; its fields: {', '.join(sorted(known))}" if known else "; it has no fields"
            problems.append(doc.problem(where, f"{component.name}.{function.name} has no field {key!r}{hint}"))
    return problems


def _check_step(doc: FlowDocument, loc: tuple[Any, ...], step: Step, base: Path | None) -> list[Problem]:
    problems = _check_function(doc, loc, step.component, step.function, "action", base, doc.flow, cfg=step.cfg)
    if step.lookup is not None:
        problems += _check_function(
            doc,
            loc,
            step.component,
            step.lookup.function,
            "action",
            base,
            doc.flow,
            cfg={},
            function_loc=(*loc, "lookup", "function"),
        )
    for name in _EXPRESSIONS:
        source = getattr(step, name)
        if source is not None:
            problems += _check_expression(doc, (*loc, name), source, step.id, name)
    if step.lookup is not None:
        for name in ("mapping", "where"):
            source = getattr(step.lookup, name)
            if source is not None:
                problems += _check_expression(doc, (*loc, "lookup", name), source, step.id, f"lookup.{name}")
    return problems


def _check_expression(doc: FlowDocument, loc: tuple[Any, ...], source: str, step: str, field: str) -> list[Problem]:
    try:
        Expression(source, step=step, field=field)
    except MappingError as exc:
        line, column = _expression_position(doc, loc, source, exc.position)
        from .document import format_path

        return [Problem(doc.source, line, column, format_path(loc), exc.detail)]
    return []


def _expression_position(doc: FlowDocument, loc: tuple[Any, ...], source: str, position: int | None) -> tuple[int, int]:
    """Where in the file an offset inside an expression is: block scalars start on the next line."""
    parent: Any = doc.data
    for part in loc[:-1]:
        parent = parent[part]
    key = loc[-1]
    lc = getattr(parent, "lc", None)
    if lc is None or position is None:
        return doc.locate(loc)
    line, column = lc.value(key)
    value = parent[key]
    expr_line, expr_column = line_column(source, position)
    style = type(value).__name__
    if style in ("LiteralScalarString", "FoldedScalarString"):
        lines = doc.text.splitlines()
        body = line + 1
        indent = len(lines[body]) - len(lines[body].lstrip()) if body < len(lines) else column
        return body + expr_line, indent + expr_column
    quoted = style in ("SingleQuotedScalarString", "DoubleQuotedScalarString")
    return line + expr_line, column + expr_column + (1 if quoted else 0)
