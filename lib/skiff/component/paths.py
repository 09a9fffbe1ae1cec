"""Where a component's files may be: inside its folder, nowhere else.

``main`` and schema paths come from component.json, which may come from anyone; a path that
climbs out (``../../elsewhere/evil.py``) or an absolute path would make skiff import or read a
file the component does not own. The check is on the path as written: a symlink inside the
folder was put there by whoever wrote the folder, like its code, and is followed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

__all__ = ["MAX_COMPONENT_FILE_BYTES", "confined", "outside_problem"]

# component.json and its schema files: the largest real ones (generated from vendor specs)
# are a few MB; anything far larger is a mistake or an attack on memory.
MAX_COMPONENT_FILE_BYTES = 32 * 1024 * 1024


def outside_problem(folder: Path, relative: str, what: str) -> str | None:
    """Why ``relative`` may not be used (it leaves ``folder``), or None."""
    root = os.path.normpath(os.path.abspath(folder))
    target = os.path.normpath(os.path.join(root, relative))
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        return f"{what} {relative!r} points outside the component folder"
    return None


def confined(folder: Path, relative: str, what: str, *, where: str | None = None) -> Path:
    """``folder / relative`` resolved (symlinks too), or ConfigError when it leaves ``folder``."""
    if problem := outside_problem(folder, relative, what):
        raise ConfigError(problem, where=where)
    return (folder / relative).resolve()
