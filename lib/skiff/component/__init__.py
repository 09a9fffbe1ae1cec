"""component.json: models, the loader, validation and the published JSON Schema."""

from typing import TYPE_CHECKING, Any

from .loader import (
    ROOT_COMPONENT_NAME,
    Component,
    Function,
    find_components,
    load_component,
    resolve_component,
)
from .models import ComponentModel, FieldModel, FunctionModel

if TYPE_CHECKING:
    from .validate import Problem, component_json_schema, validate_component

__all__ = [
    "ROOT_COMPONENT_NAME",
    "Component",
    "ComponentModel",
    "FieldModel",
    "Function",
    "FunctionModel",
    "Problem",
    "component_json_schema",
    "find_components",
    "load_component",
    "resolve_component",
    "validate_component",
]

# ``skiff validate`` and ``skiff schema`` need these; ``skiff run`` does not (they import
# the template compiler and ``ast``): loaded on first use.
_VALIDATE = {"Problem", "component_json_schema", "validate_component"}


def __getattr__(name: str) -> Any:
    if name in _VALIDATE:
        from . import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
