"""component.json: models, the loader, validation and the published JSON Schema."""

from .loader import (
    ROOT_COMPONENT_NAME,
    Component,
    Function,
    find_components,
    load_component,
    resolve_component,
)
from .models import ComponentModel, FieldModel, FunctionModel
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
