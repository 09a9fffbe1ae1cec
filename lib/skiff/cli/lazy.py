"""A lean start for the CLI: commands and libraries imported only when they are used.

``skiff run`` should not pay for the demo (rich), the generator or the state stores at start-up:
each such command is registered by name and ``module:attribute``, and imported on first use
(``skiff --help`` imports them all to show their help lines).
"""

from __future__ import annotations

import importlib
import sys

import click

__all__ = ["LazyGroup", "import_httpx"]


def import_httpx() -> None:
    """Import httpx without its own command line.

    httpx imports its CLI (rich and pygments: ~30 ms and 4 MB) whenever they are installed,
    and skiff installs rich for its demo. skiff never runs httpx's CLI, so they are hidden
    while httpx loads (it then defines a stub ``httpx.main``) and visible again right after.
    """
    if "httpx" in sys.modules:
        return
    hidden = [name for name in ("rich", "pygments") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes "import rich" fail fast
    try:
        import httpx  # noqa: F401
    finally:
        for name in hidden:
            sys.modules.pop(name, None)


class LazyGroup(click.Group):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands: dict[str, str] = {}

    def add_lazy_command(self, name: str, target: str) -> None:
        """``target``: ``"skiff.cli.cmd_demo:demo"`` (or relative to this package: ``".cmd_demo:demo"``)."""
        self.lazy_commands[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            module = importlib.import_module(module_name, __package__)
            command = getattr(module, attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return command
