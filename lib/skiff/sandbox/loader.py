"""Find and import vendor sandboxes: ``components/<name>/sandbox/app.py``."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .app import SandboxApp

__all__ = ["import_sandbox_module", "list_sandboxes", "load_sandbox", "sandbox_folders"]


def sandbox_folders() -> dict[str, Path]:
    """Every component that has a ``sandbox/app.py``, by name.

    Components are found one way only (``skiff.component.find_components``: the checkout or the
    installed wheel, plus ``$SKIFF_COMPONENTS_PATH``), so ``skiff sandbox`` sees what ``skiff
    components`` lists.
    """
    from ..component.loader import find_components

    return {
        name: path / "sandbox" for name, path in find_components().items() if (path / "sandbox" / "app.py").is_file()
    }


def list_sandboxes() -> list[str]:
    return sorted(sandbox_folders())


def _sandbox_file(name_or_path: str | os.PathLike[str]) -> Path:
    text = os.fspath(name_or_path)
    path = Path(text)
    if "/" in text or os.sep in text or path.suffix == ".py" or path.exists():
        if path.is_dir():
            for candidate in (path / "sandbox" / "app.py", path / "app.py"):
                if candidate.is_file():
                    return candidate.resolve()
            raise FileNotFoundError(f"no sandbox/app.py in {path}")
        if path.is_file():
            return path.resolve()
        raise FileNotFoundError(f"no sandbox at {path}")
    folders = sandbox_folders()
    if text not in folders:
        raise FileNotFoundError(f"no sandbox named {text!r} (known: {', '.join(sorted(folders)) or 'none'})")
    return (folders[text] / "app.py").resolve()


def import_sandbox_module(name_or_path: str | os.PathLike[str]) -> ModuleType:
    """Import a sandbox's ``app.py`` as ``<pkg>.app`` of a synthetic package over its folder.

    The package lets a sandbox split itself into modules and use relative imports
    (``from .data import make_order``) without components being importable packages.
    """
    app_file = _sandbox_file(name_or_path)
    folder = app_file.parent
    vendor = folder.parent.name if folder.name == "sandbox" else folder.name
    package = "_skiff_sandbox_" + re.sub(r"\W", "_", vendor)
    module_name = f"{package}.{app_file.stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if package not in sys.modules:
        init = folder / "__init__.py"
        if init.is_file():
            pkg_spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[str(folder)])
            if pkg_spec is None or pkg_spec.loader is None:
                raise ImportError(f"cannot import sandbox package from {folder}")
            pkg = importlib.util.module_from_spec(pkg_spec)
            sys.modules[package] = pkg
            pkg_spec.loader.exec_module(pkg)
        else:
            pkg = ModuleType(package)
            pkg.__path__ = [str(folder)]
            pkg.__package__ = package
            pkg.__spec__ = importlib.machinery.ModuleSpec(package, None, is_package=True)
            pkg.__spec__.submodule_search_locations = [str(folder)]
            sys.modules[package] = pkg
    spec = importlib.util.spec_from_file_location(module_name, app_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {app_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def load_sandbox(name_or_path: str | os.PathLike[str], *, seed: int = 1, **options: Any) -> SandboxApp:
    """Import a vendor sandbox and call its ``create_app(seed=..., **options)``.

    The returned app carries the module's ``DEFAULT_CREDENTIALS`` as ``app.default_credentials``.
    """
    module = import_sandbox_module(name_or_path)
    create_app = getattr(module, "create_app", None)
    if create_app is None:
        raise ImportError(f"{module.__file__} has no create_app(seed=..., **options)")
    app = create_app(seed=seed, **options)
    if not isinstance(app, SandboxApp):
        raise TypeError(f"{module.__file__}: create_app returned {type(app).__name__}, not SandboxApp")
    credentials = getattr(module, "DEFAULT_CREDENTIALS", None)
    if isinstance(credentials, dict) and not app.default_credentials:
        app.default_credentials = {str(k): str(v) for k, v in credentials.items()}
    return app
