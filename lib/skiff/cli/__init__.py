"""The ``skiff`` command.

Output contract: data goes to stdout as one JSON document per line; every error is one line
``error: <Kind>: <message>`` on stderr with the exit code of its kind (0 ok, 2 config or
input, 3 auth, 4 API, 5 rate limited / transient, 1 anything else). ``--debug`` adds logs and
tracebacks on stderr. Heavy modules are imported inside the commands so that start-up is fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ..errors import ConfigError, InputError, SkiffError
from ..parse_errors import syntax_error_line
from .lazy import LazyGroup, import_httpx

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _fail(err: SkiffError) -> NoReturn:
    click.echo(err.one_line(), err=True)
    sys.exit(err.exit_code)


MAX_ARG_DEPTH = 200  # real cfg and bodies nest a few levels; deeper only exhausts recursion


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_ARG_DEPTH:
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json_arg(value: str | None, what: str, *, error: type[SkiffError] = ConfigError) -> Any:
    """``--cfg``/``--body``: inline JSON, ``@file`` (JSON or YAML), or ``-`` for stdin."""
    if value is None:
        return {}
    try:
        parsed = _parse_json_arg(value, what, error)
    except RecursionError:
        raise error(f"--{what}: nested more than {MAX_ARG_DEPTH} levels deep") from None
    if _depth(parsed) > MAX_ARG_DEPTH:
        raise error(f"--{what}: nested more than {MAX_ARG_DEPTH} levels deep")
    return parsed


def _parse_json_arg(value: str, what: str, error: type[SkiffError]) -> Any:
    source = f"--{what}"
    text = value
    if value == "-":
        text = sys.stdin.read()
        source = "stdin"
    elif value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise error(f"--{what} {value}: cannot read: {exc.strerror or exc}") from None
        source = str(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise error(f"{source}: {syntax_error_line(exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: {syntax_error_line(exc)}") from None


def echo_json(value: Any, pretty: bool = False) -> None:
    """One JSON document on one line (the output contract); indented with ``--pretty``, for people."""
    if pretty:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def pretty_option(f: F) -> F:
    return click.option("--pretty", is_flag=True, help="Indent the JSON (for people; default: one line).")(f)


# click >= 8.2 raises this (a UsageError whose message is the help) for a group called bare.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Group(LazyGroup):
    """Turns every SkiffError into one line and its exit code; tracebacks only with --debug.

    click's own errors (an unknown option, a bad value) get the same ``error: <Kind>: ...``
    form with exit code 2, instead of click's usage block.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except _NO_ARGS_IS_HELP as exc:  # ``skiff`` or ``skiff state`` alone: the help, as click shows it
            click.echo(exc.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "skiff"
            click.echo(f"error: UsageError: {exc.format_message().rstrip('.')} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {type(exc).__name__}: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: Interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkiffError as err:
            if logging.getLogger("skiff").isEnabledFor(logging.DEBUG):
                logging.getLogger("skiff").debug("traceback", exc_info=True)
            _fail(err)
        except KeyboardInterrupt:
            click.echo("error: Interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # before click's own handler, which exits with 1
            _reader_gone()


class _OneLine(logging.Filter):
    """Drops the traceback of a log record: stderr gets one line per problem without --debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Log requests and show tracebacks on stderr.")
@click.version_option(None, "-V", "--version", package_name="skiff")
def cli(debug: bool) -> None:
    """skiff: run elastic.io-style connectors: validate, describe, run, poll, sandbox."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # What a call waits for (retries, Retry-After, rebounds), one plain line each on stderr.
    progress = logging.getLogger("skiff.http.waits")  # skiff.http.client.progress
    if not progress.handlers:
        lines = logging.StreamHandler(sys.stderr)
        lines.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(lines)
        progress.setLevel(logging.INFO)
        progress.propagate = False
    if not debug:
        # httpx logs every request at INFO; our own debug logs redact secrets.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # Libraries log tracebacks with their warnings (aiormq on a dropped connection): one
        # line each unless --debug.
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _OneLine) for f in handler.filters):
                handler.addFilter(_OneLine())
    else:
        from ..http.client import LogRedactor

        # Every record that reaches stderr, whichever library logged it, is redacted once more.
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, LogRedactor) for f in handler.filters):
                handler.addFilter(LogRedactor())


# ----------------------------------------------------------------- components / describe


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pretty_option
def components(as_json: bool, pretty: bool) -> None:
    """List the installed components."""
    from ..component import find_components, load_component

    rows = []
    for name, path in find_components().items():
        try:
            comp = load_component(path, name=name)
            rows.append(
                {
                    "name": name,
                    "title": comp.title,
                    "actions": len(comp.model.actions),
                    "triggers": len(comp.model.triggers),
                    "path": str(path),
                }
            )
        except SkiffError as err:
            rows.append({"name": name, "title": f"(invalid: {err})", "actions": 0, "triggers": 0, "path": str(path)})
    if as_json or pretty:
        echo_json(rows, pretty)
        return
    for r in rows:
        click.echo(f"{r['name']:<10} {r['actions']:>4} actions {r['triggers']:>3} triggers  {r['title']}")


@cli.command()
@click.argument("component")
@click.argument("function", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pretty_option
def describe(component: str, function: str | None, as_json: bool, pretty: bool) -> None:
    """Describe a component, or one of its actions/triggers (fields, in/out schemas, operationId)."""
    from ..component import resolve_component

    comp = resolve_component(component)
    if function is None:
        info = {
            "name": comp.name,
            "title": comp.title,
            "description": comp.model.description,
            "version": comp.model.version,
            "credentials": {
                n: f.model_dump(exclude_none=True, exclude_defaults=False)
                for n, f in comp.model.credentials.fields.items()
            },
            "actions": {
                n: {"title": f.title, "operationId": f.model.operationId, "tags": f.model.tags}
                for n, f in comp.actions.items()
            },
            "triggers": {n: {"title": f.title} for n, f in comp.triggers.items()},
        }
        if as_json or pretty:
            echo_json(info, pretty)
            return
        click.echo(f"{comp.name}: {comp.title}  (version {comp.model.version or '-'})")
        if comp.model.description:
            click.echo(f"  {comp.model.description}")
        click.echo("credentials:")
        for n, f in comp.model.credentials.fields.items():
            click.echo(f"  {n:<20} {f.viewClass:<18} {'required' if f.required else 'optional'}  {f.label or ''}")
            if f.note:  # the notes explain formats (the http component's auth objects, say)
                click.echo(f"  {'':<20} {f.note}")
        click.echo(f"actions ({len(comp.actions)}):")
        for n, fn in comp.actions.items():
            op = f"  [{fn.model.operationId}]" if fn.model.operationId else ""
            click.echo(f"  {n:<36} {fn.title}{op}")
        click.echo(f"triggers ({len(comp.triggers)}):")
        for n, fn in comp.triggers.items():
            click.echo(f"  {n:<36} {fn.title}")
        return
    fn = comp.function(function)
    detail: dict[str, Any] = {
        "name": fn.name,
        "kind": fn.kind,
        "title": fn.title,
        "description": fn.model.description,
        "operationId": fn.model.operationId,
        "tags": fn.model.tags,
        "fields": {n: f.model_dump(exclude_none=True) for n, f in fn.fields.items()},
        "in": fn.in_schema,
        "out": fn.out_schema,
    }
    if fn.model.request is not None:
        detail["request"] = fn.model.request.model_dump(exclude_none=True, by_alias=True)
    if fn.model.pagination is not None:
        detail["pagination"] = fn.model.pagination.model_dump(exclude_none=True)
    from ..component.example import example_value

    example_body = example_value(fn.in_schema) if fn.in_schema else {}
    detail["exampleBody"] = example_body
    if as_json or pretty:
        echo_json(detail, pretty)
        return
    click.echo(f"{comp.name}.{fn.name} ({fn.kind}): {fn.title}")
    if fn.model.operationId:
        click.echo(f"  operationId: {fn.model.operationId}")
    if fn.model.description:
        click.echo(f"  {fn.model.description}")
    for key in ("fields", "request", "pagination", "in", "out"):
        if detail.get(key):
            click.echo(f"{key}:")
            click.echo("  " + json.dumps(detail[key], indent=2, ensure_ascii=False).replace("\n", "\n  "))
    body_arg = json.dumps(example_body, ensure_ascii=False).replace("'", "'\\''")
    click.echo("example:")
    click.echo(f"  skiff run {comp.name} {fn.name} --cfg @cfg.json --body '{body_arg}'")


# ----------------------------------------------------------------- validate / schema


@cli.command()
@click.argument("dirs", nargs=-1, type=click.Path())
def validate(dirs: tuple[str, ...]) -> None:
    """Check component folders (default: the root component and every components/*)."""
    from ..component import find_components, validate_component

    targets = [Path(d) for d in dirs] or list(find_components().values())
    errors = warnings = 0
    for folder in targets:
        problems = validate_component(folder)
        for p in problems:
            click.echo(str(p))
            if p.severity == "warning":
                warnings += 1
            else:
                errors += 1
    if errors:
        click.echo(f"{errors} problem(s) in {len(targets)} component(s)", err=True)
        sys.exit(1)
    note = f", {warnings} warning(s)" if warnings else ""
    click.echo(f"ok: {len(targets)} component(s) valid{note}", err=True)


@cli.command()
@pretty_option
def schema(pretty: bool) -> None:
    """Print the JSON Schema of component.json (generated from the models)."""
    from ..component import component_json_schema

    echo_json(component_json_schema(), pretty)


# ----------------------------------------------------------------- run / verify / select


def _cfg_file(cfg: str | None) -> Path | None:
    """The file a ``--cfg @file`` names: new keys from the component are written back there."""
    return Path(cfg[1:]) if cfg and cfg.startswith("@") else None


def _load_cfg(cfg: str | None) -> dict[str, Any]:
    value = parse_json_arg(cfg, "cfg")
    if not isinstance(value, dict):
        raise ConfigError("--cfg must be a JSON object")
    return value


@cli.command()
@click.argument("component")
@click.argument("function")
@click.option("--cfg", help="cfg as JSON, @file (JSON/YAML) or - for stdin.")
@click.option("--body", help="Message body as JSON, @file or -.")
@click.option("--messages", is_flag=True, help="Print whole messages, not only bodies.")
@click.option("--state", "state", help="Snapshot store for triggers: a path (SQLite) or redis:// / postgresql:// URL.")
@click.option("--dry-run", is_flag=True, help="Triggers: run without moving the snapshot.")
@click.option("--flow-id", default="default", help="Keys the trigger's snapshot (one per flow).")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many records.")
@click.option(
    "--attachments",
    type=click.Path(file_okay=False),
    help="Write each attachment (PDFs, downloads) into this folder; the output names each file (its url).",
)
@click.option(
    "--rate-limits",
    envvar="SKIFF_RATE_LIMITS",
    help="Share rate-limit windows with other processes (redis://...; env SKIFF_RATE_LIMITS).",
)
@click.option("--timeout", default="120s", show_default=True, help="Total time one request may take, retries included.")
@click.option("--rebound-delay", default="15s", show_default=True, help="Wait before the first rebound (doubling).")
@click.option("--rebound-limit", default=20, show_default=True, type=int, help="Rebounds before giving up.")
def run(
    component: str,
    function: str,
    cfg: str | None,
    body: str | None,
    messages: bool,
    state: str | None,
    dry_run: bool,
    flow_id: str,
    limit: int | None,
    attachments: str | None,
    rate_limits: str | None,
    timeout: str,
    rebound_delay: str,
    rebound_limit: int,
) -> None:
    """Run one action or trigger call and print what it emits as JSON lines."""
    import asyncio

    import_httpx()
    from ..http import shared_limiter
    from ..run import Executor, ReboundPolicy
    from .cmd_poll import parse_interval
    from .runner import run_call
    from .sink import StdoutSink

    config = _load_cfg(cfg)
    message_body = parse_json_arg(body, "body", error=InputError) if body is not None else {}
    limiter = shared_limiter(rate_limits)
    rebounds = ReboundPolicy(initial=parse_interval(rebound_delay, "--rebound-delay"), limit=rebound_limit)
    sink = StdoutSink(
        sys.stdout, messages=messages, attachments=attachments, limit=limit, cfg=config, cfg_file=_cfg_file(cfg)
    )

    async def go() -> int:
        async with Executor(limiter=limiter, timeout=parse_interval(timeout, "--timeout")) as executor:
            return await run_call(
                executor,
                component,
                function,
                cfg=config,
                body=message_body,
                sink=sink,
                state=state,
                dry_run=dry_run,
                flow_id=flow_id,
                rebounds=rebounds,
            )

    code = asyncio.run(go())
    sys.exit(code)


@cli.command()
@click.argument("component")
@click.option("--cfg", help="cfg as JSON, @file or -.")
def verify(component: str, cfg: str | None) -> None:
    """verifyCredentials: exit 0 when the cfg is accepted, 3 when it is not."""
    import asyncio

    import_httpx()
    from ..component import resolve_component
    from ..run import Executor

    comp = resolve_component(component)
    config = _load_cfg(cfg)

    async def go() -> dict[str, Any]:
        async with Executor() as ex:
            return await ex.verify(comp, config)

    result = asyncio.run(go())
    click.echo(json.dumps(result, ensure_ascii=False))
    if not result.get("verified"):
        click.echo(f"error: AuthError: {result.get('reason', 'not verified')}", err=True)
        sys.exit(3)


@cli.command()
@click.argument("component")
@click.argument("function")
@click.argument("field")
@click.option("--cfg", help="cfg as JSON, @file or -.")
@pretty_option
def select(component: str, function: str, field: str, cfg: str | None, pretty: bool) -> None:
    """Print the options {value: label} of a select field (FUNCTION '-' for credential fields)."""
    import asyncio

    import_httpx()
    from ..component import resolve_component
    from ..run import Executor

    comp = resolve_component(component)
    config = _load_cfg(cfg)

    async def go() -> dict[str, str]:
        async with Executor() as ex:
            return await ex.select(comp, None if function == "-" else function, field, config)

    echo_json(asyncio.run(go()), pretty)


def _register_optional() -> None:
    """Commands that live in their own modules (imported lazily by click when invoked)."""
    from . import extra

    extra.register(cli)


def main() -> None:
    _register_optional()
    try:
        try:
            cli(prog_name="skiff")
        finally:
            sys.stdout.flush()  # here, so that a reader that went away is seen below
    except BrokenPipeError:
        _reader_gone()


def _reader_gone() -> NoReturn:
    """The reader closed the pipe (``skiff run ... | head -1``): stop quietly with 0, as Unix
    tools do. stdout then points at /dev/null so that the interpreter's last flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
