"""The runtime dependencies in pyproject.toml cover every third-party import of the shipped code."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["lib", "components", "actions", "triggers"]  # what the wheel carries (see pyproject)
# Import name → distribution name, where they differ.
DISTRIBUTION = {
    "yaml": "pyyaml",
    "jsonschema_rs": "jsonschema-rs",
    "aio_pika": "aio-pika",
    "ruamel": "ruamel.yaml",
    "jsonata": "jsonata-python",
}


def declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {re.split(r"[<>=!\[;~ ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}


def imported() -> set[str]:
    found: set[str] = set()
    for folder in SHIPPED:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "skiff"}


def test_every_third_party_import_is_a_runtime_dependency() -> None:
    missing = {DISTRIBUTION.get(name, name).lower().replace("_", "-") for name in imported()} - declared()
    assert missing == set(), f"add to [project] dependencies: {sorted(missing)}"


def test_format_checks_have_what_they_need() -> None:
    """jsonschema checks "date-time" only when rfc3339-validator is there (the Plenigo sandbox uses it)."""
    assert "rfc3339-validator" in declared()
    from jsonschema import FormatChecker

    checker = FormatChecker(["date-time"])
    assert checker.conforms("2024-01-31T12:00:00Z", "date-time")
    assert not checker.conforms("2024-01-31 noon", "date-time")


def test_the_wheel_ships_the_components() -> None:
    build = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    shipped = build["targets"]["wheel"]["force-include"]
    assert shipped["components"] == "skiff/_root/components"
    assert shipped["component.json"] == "skiff/_root/component.json"
