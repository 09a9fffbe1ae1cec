"""One handler signature per kind, checked the same way by ``skiff validate`` and the executor.

========  ==================  =====================================================
kind      function            called with
========  ==================  =====================================================
action    ``process``         ``(ctx, msg, cfg)``: returns, yields or ``ctx.emit``\\ s
trigger   ``process``         ``(ctx, msg, cfg)``
verify    ``verify``          ``(ctx, cfg)``: ``{"verified": bool, "reason"?}`` or a bool
select    ``process``         ``(ctx, cfg)``: ``{value: label}``
metadata  ``getMetaModel``    ``(ctx, cfg)``: ``{"in": schema, "out": schema}``
init      ``init``            ``(ctx, cfg)``: once per worker, before the first message
startup   ``startup``         ``(ctx, cfg)``: once per flow start; returns the startup data
shutdown  ``shutdown``        ``(ctx, cfg, startup_data)``: once per flow stop
========  ==================  =====================================================

The last three are hooks: optional functions next to an action's or trigger's ``process`` (in
the same ``main``); a module without one is fine, one with the wrong parameters is not.

``validate`` reads the handler file's syntax tree (nothing is imported), the executor inspects
the imported function; both describe a mismatch with the same words.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

__all__ = ["HOOK_KINDS", "SIGNATURES", "HandlerKind", "HookKind", "Signature", "callable_problem", "source_problem"]

HandlerKind = Literal["action", "trigger", "verify", "select", "metadata", "init", "startup", "shutdown"]
HookKind = Literal["init", "startup", "shutdown"]
HOOK_KINDS: Final[tuple[HookKind, ...]] = ("init", "startup", "shutdown")


@dataclass(frozen=True, slots=True)
class Signature:
    """The function a handler module of one kind defines, and the parameters it is called with."""

    kind: HandlerKind
    name: str
    params: tuple[str, ...]
    optional: bool = False  # a hook: a module may leave it out

    def describe(self) -> str:
        return f"async def {self.name}({', '.join(self.params)})"

    @property
    def what(self) -> str:
        return f"a {self.kind} hook" if self.optional else f"a {self.kind} handler"

    def missing(self, main: str) -> str:
        return f"main {main!r} has no function {self.name!r} ({self.what} is `{self.describe()}`)"

    def arity(self, main: str, takes: str) -> str:
        return f"main {main!r}: {self.name}() takes {takes}; {self.what} is `{self.describe()}`"


SIGNATURES: Final[Mapping[HandlerKind, Signature]] = MappingProxyType(
    {
        "action": Signature("action", "process", ("ctx", "msg", "cfg")),
        "trigger": Signature("trigger", "process", ("ctx", "msg", "cfg")),
        "verify": Signature("verify", "verify", ("ctx", "cfg")),
        "select": Signature("select", "process", ("ctx", "cfg")),
        "metadata": Signature("metadata", "getMetaModel", ("ctx", "cfg")),
        "init": Signature("init", "init", ("ctx", "cfg"), optional=True),
        "startup": Signature("startup", "startup", ("ctx", "cfg"), optional=True),
        "shutdown": Signature("shutdown", "shutdown", ("ctx", "cfg", "startup_data"), optional=True),
    }
)


def _takes(required: int, total: int | None, keyword_only: bool) -> str:
    if total is None:
        text = f"at least {required} positional parameter{'s' if required != 1 else ''}"
    elif required == total:
        text = f"{total} positional parameter{'s' if total != 1 else ''}"
    else:
        text = f"{required} to {total} positional parameters"
    return text + (" and required keyword-only ones" if keyword_only else "")


def _fits(required: int, total: int | None, given: int) -> bool:
    return required <= given and (total is None or given <= total)


def source_problem(source: str, main: str, kind: HandlerKind) -> str | None:
    """``validate``: the problem with a handler file's source for ``kind``, or None (a hook may be absent)."""
    import ast  # only validate needs it: skiff run starts without

    sig = SIGNATURES[kind]
    try:
        tree = ast.parse(source, filename=main)
    except SyntaxError as exc:
        return f"main {main!r}: syntax error at line {exc.lineno}: {exc.msg}"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == sig.name:
            args = node.args
            positional = len(args.posonlyargs) + len(args.args)
            required = positional - len(args.defaults)
            total = None if args.vararg is not None else positional
            kw_required = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
            if kw_required or not _fits(required, total, len(sig.params)):
                return sig.arity(main, _takes(required, total, bool(kw_required)))
            return None
    return None if sig.optional else sig.missing(main)


def callable_problem(module: Any, main: str, kind: HandlerKind) -> tuple[Callable[..., Any] | None, str | None]:
    """The executor: ``(handler, None)`` when ``module`` defines a fitting one, else ``(None, problem)``.

    An absent hook is ``(None, None)``.
    """
    sig = SIGNATURES[kind]
    fn = getattr(module, sig.name, None)
    if not callable(fn):
        return None, None if sig.optional and fn is None else sig.missing(main)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return fn, None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    total = None if any(p.kind == p.VAR_POSITIONAL for p in params) else len(positional)
    kw_required = [p for p in params if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    if kw_required or not _fits(required, total, len(sig.params)):
        return None, sig.arity(main, _takes(required, total, bool(kw_required)))
    return fn, None
