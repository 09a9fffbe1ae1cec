"""The OpenAPI/Swagger → component generator (``skiff generate openapi``).

``generate(spec, name=..., out_dir=..., overlay=...)`` writes a component folder;
``render_component(...)`` returns the same files as a dict without writing (tests compare it
with the folder on disk); ``cli_generate`` is what the CLI calls. See :mod:`.generator` for
the mapping rules and :mod:`.overlay` for the overlay format.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import SkiffError
from .generator import GenerateResult, generate, render_component
from .overlay import deep_merge, load_overlay
from .spec import ApiSpec, load_spec

__all__ = [
    "ApiSpec",
    "GenerateResult",
    "cli_generate",
    "deep_merge",
    "generate",
    "load_overlay",
    "load_spec",
    "render_component",
]


def cli_generate(spec: str | Path, name: str, out: str | Path, overlay: str | Path | None = None) -> int:
    """Generate and print one summary line; returns the process exit code."""
    try:
        result = generate(spec, name=name, out_dir=out, overlay=overlay)
    except SkiffError as exc:
        print(exc.one_line(), file=sys.stderr)
        return exc.exit_code
    print(result.summary())
    return 0
