"""``skiff flow``: validate, run and operate flow files (a thin adapter over :mod:`skiff.flow`)."""

from __future__ import annotations

import json
import sys

import click

__all__ = ["flow"]


@click.group()
def flow() -> None:
    """Flows: a trigger and a chain of steps with JSONata mappings (validate, run, status, errors, replay)."""


@flow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check flow files: each problem on one line FILE:LINE:COLUMN: PATH: MESSAGE (exit 2)."""
    from ..errors import ConfigError
    from ..flow import FlowDocument, FlowFileError, check_flow

    bad = 0
    for path in files:
        try:
            problems = check_flow(FlowDocument.load(path))
        except FlowFileError as exc:
            problems = exc.problems
        except ConfigError as exc:
            click.echo(f"{path}: {exc.message}", err=True)
            bad += 1
            continue
        for problem in problems:
            click.echo(str(problem), err=True)
        bad += bool(problems)
        if not problems:
            click.echo(f"{path}: ok")
    if bad:
        sys.exit(2)


@flow.command()
def schema() -> None:
    """The JSON Schema of a flow file (kept at schemas/flow.schema.json)."""
    from ..flow import flow_json_schema

    click.echo(json.dumps(flow_json_schema(), indent=2, sort_keys=True, ensure_ascii=False))
