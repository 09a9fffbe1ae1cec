"""Commands that live in their own modules; registered here so ``skiff --help`` lists them."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    """Add the optional commands whose modules exist."""
    return None
