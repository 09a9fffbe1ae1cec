"""``skiff generate openapi SPEC --name NAME --out DIR [--overlay FILE]``."""

from __future__ import annotations

import sys

import click

__all__ = ["generate"]


@click.group()
def generate() -> None:
    """Generate a component from an API description."""


@generate.command("openapi")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="Component name (the folder's name).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Component folder to write.")
@click.option("--overlay", type=click.Path(exists=True, dir_okay=False), help="Hand refinements (YAML/JSON).")
def openapi(spec: str, name: str, out: str, overlay: str | None) -> None:
    """Write one declarative action per operation of a Swagger 2.0 / OpenAPI 3.x spec."""
    from ..openapi import cli_generate

    sys.exit(cli_generate(spec, name, out, overlay))
