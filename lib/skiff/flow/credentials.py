"""Credential sets of a flow, resolved from the environment or from a credentials file.

A flow file only names credential sets. Their values come from environment variables (the
``env`` map of a set: field → variable; ``NAME?`` when the variable may be unset) or from a
credentials file (YAML or JSON: a mapping of set name → fields) that must be readable by its
owner alone, like an SSH key. The file is ``--credentials FILE``, else ``$SKIFF_CREDENTIALS``,
else ``credentials.yaml`` beside the flow file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .model import Flow

__all__ = ["CREDENTIALS_ENV", "default_credentials_path", "resolve_credentials"]

CREDENTIALS_ENV = "SKIFF_CREDENTIALS"


def default_credentials_path(flow_path: str | Path | None) -> Path | None:
    env = os.environ.get(CREDENTIALS_ENV)
    if env:
        return Path(env)
    if flow_path is not None:
        return Path(flow_path).resolve().parent / "credentials.yaml"
    return None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the credentials file: {exc.strerror or exc}") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: the credentials file is readable by others (mode {stat.S_IMODE(info.st_mode):o});"
            f" run: chmod 600 {path}"
        )
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        # Never echo the file's content: it holds secrets.
        raise ConfigError(f"{path}: the credentials file is not valid YAML or JSON{where}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise ConfigError(f"{path}: the credentials file maps each set's name to its fields")
    return {str(k): dict(v) for k, v in data.items()}


def resolve_credentials(
    flow: Flow,
    *,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The values of every credential set the flow's steps name: ``{set name: cfg fields}``."""
    env = os.environ if environ is None else environ
    file_path = Path(path) if path is not None else None
    from_file = _read_file(file_path) if file_path is not None else {}
    wanted = {flow.trigger.credentials, *(s.credentials for s in [*flow.steps, *flow.errorSteps])}
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(n for n in wanted if n):
        declared = flow.credentials.get(name)
        section = (declared.file if declared and declared.file else None) or name
        values: dict[str, Any] = dict(from_file.get(section, {}))
        missing = []
        for field, spec in (declared.env if declared else {}).items():
            variable, optional = spec.removesuffix("?"), spec.endswith("?")
            if env.get(variable):
                values[field] = env[variable]
            elif field not in values and not optional:
                missing.append(variable)
        if missing:
            raise ConfigError(
                f"credential set {name!r}: environment variable{'s' if len(missing) > 1 else ''}"
                f" {', '.join(missing)} not set" + (f" and no section {section!r} in {file_path}" if file_path else "")
            )
        if not values:
            where = f"no section {section!r} in {file_path}" if file_path else "no credentials file"
            raise ConfigError(
                f"credential set {name!r} has no values: {where}, and the flow maps no environment variables to it"
            )
        out[name] = values
    return out
