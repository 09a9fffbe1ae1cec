"""Where a component's files may be: inside its folder, nowhere else.

``main`` and schema paths come from component.json, which may come from anyone; a path that
climbs out (``../../elsewhere/evil.py``), an absolute path, or a symlink inside the folder that
points out of it (``schemas/in.json -> /etc/...``, ``lib -> /``) would make skiff import or read
a file the component does not own. Both the path as written and the file it resolves to (every
symlink followed) must lie inside the folder (itself resolved: a component folder reached
through a symlink is fine); a symlink from one place in the folder to another is fine too.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

__all__ = ["MAX_COMPONENT_FILE_BYTES", "confined", "inside", "outside_problem"]

# component.json and its schema files: the largest real ones (generated from vendor specs)
# are a few MB; anything far larger is a mistake or an attack on memory.
MAX_COMPONENT_FILE_BYTES = 32 * 1024 * 1024


def inside(folder: Path | str, relative: str) -> Path | None:
    """The file ``relative`` names under ``folder``, symlinks resolved, if it lies inside; else None."""
    root = os.path.normpath(os.path.abspath(folder))
    target = os.path.normpath(os.path.join(root, relative))
    if not _under(target, root):
        return None
    real, real_root = os.path.realpath(target), os.path.realpath(root)
    return Path(real) if _under(real, real_root) else None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def outside_problem(folder: Path, relative: str, what: str) -> str | None:
    """Why ``relative`` may not be used (it leaves ``folder``, as written or through a symlink), or None."""
    if inside(folder, relative) is None:
        return f"{what} {relative!r} points outside the component folder"
    return None


def confined(folder: Path, relative: str, what: str, *, where: str | None = None) -> Path:
    """``folder / relative`` resolved (symlinks too), or ConfigError when it leaves ``folder``."""
    path = inside(folder, relative)
    if path is None:
        raise ConfigError(f"{what} {relative!r} points outside the component folder", where=where)
    return path
