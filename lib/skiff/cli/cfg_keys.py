"""``updateKeys`` on the command line: a component's new credential values kept in ``--cfg @file.json``.

The file is replaced atomically (a crash leaves the old file or the new one) and keeps its
permissions. The values are secrets: the returned line names the keys, never their values.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["write_back_keys"]


def write_back_keys(cfg_file: Path | None, keys: dict[str, Any]) -> str:
    """Merge ``keys`` into the JSON ``cfg_file``; returns the line to tell the user what happened."""
    names = ", ".join(sorted(keys))
    if cfg_file is None or cfg_file.suffix not in (".json", ""):
        return f"updateKeys: the component sent new values for {names}; give --cfg @file.json to keep them"
    tmp = cfg_file.with_name(cfg_file.name + ".tmp")
    try:
        current = json.loads(cfg_file.read_text(encoding="utf-8"))
        if not isinstance(current, dict):
            raise ValueError("not a JSON object")
        tmp.write_text(json.dumps({**current, **keys}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.chmod(tmp, cfg_file.stat().st_mode & 0o777)
        os.replace(tmp, cfg_file)
    except (OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)  # never leave the new secrets in a stray file
        # Only the reason: a JSON error's text quotes no values, an OSError names the file.
        return f"updateKeys: cannot update {cfg_file}: {_reason(exc)}; new values for {names} are lost"
    return f"updateKeys: {names} updated in {cfg_file}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
