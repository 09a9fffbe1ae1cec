"""pydantic models of component.json: elastic.io's format plus skiff's documented extension keys.

elastic.io keys keep their names and meaning. skiff's additions are ``http``,
``verifyCredentials`` and ``selectModels`` on the component, and ``request``, ``pagination``,
``recordsPath``, ``emitBehavior``, ``idempotent``, ``polling``, ``operationId``, ``tags`` and
``rateLimitEndpoint`` on an action or trigger. elastic.io ignores them; everything else unknown
is an error, because a typo in a key silently changes nothing on elastic.io either.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..specs import EmitBehavior, HttpSpec, PaginationSpec, PollingSpec, RequestSpec

__all__ = [
    "NAME_PATTERN",
    "VIEW_CLASSES",
    "ComponentModel",
    "CredentialsModel",
    "FieldModel",
    "FunctionModel",
    "HelpModel",
    "MetadataModel",
    "SelectModelSpec",
    "VerifySpec",
]

NAME_PATTERN = re.compile(r"^[A-Za-z]\w*$")

# The view classes elastic.io's UI knows (from its component.json documentation).
ViewClass = Literal[
    "TextFieldView",
    "TextFieldWithNoteView",
    "TextAreaView",
    "TextAreaWithNoteView",
    "PasswordFieldView",
    "CheckBoxView",
    "SelectView",
    "MultiSelectView",
    "CodeFieldView",
    "JSONataView",
    "WebHookURLView",
    "OAuthFieldView",
    "HTTPAuthView",
    "NumberFieldView",
    "DateTimeFieldView",
]
VIEW_CLASSES: tuple[str, ...] = get_args(ViewClass)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldModel(_Model):
    """A credential or function field, rendered as a form control by the flow builder."""

    label: str | None = None
    viewClass: ViewClass = "TextFieldView"
    required: bool = False
    model: str | dict[str, str] | None = None  # a select model name, or static {value: label}
    placeholder: str | None = None
    note: str | None = None
    prompt: str | None = None
    default: Any = None
    order: int | None = None
    # skiff: the JSON Schema type of the value (cfg is validated against it).
    type: Literal["string", "number", "integer", "boolean", "object", "array"] | None = None


class HelpModel(_Model):
    description: str | None = None
    link: str | None = None


class MetadataModel(_Model):
    """In/out JSON Schemas: inline or a ``./schemas/x.json`` path, resolved by the loader."""

    in_: dict[str, Any] | str | None = Field(None, alias="in")
    out: dict[str, Any] | str | None = None


class FunctionModel(_Model):
    """An action or a trigger."""

    title: str
    description: str | None = None
    main: str | None = None
    type: Literal["polling"] | None = None
    fields: dict[str, FieldModel] = Field(default_factory=dict)
    metadata: MetadataModel = Field(default_factory=lambda: MetadataModel.model_validate({}))
    dynamicMetadata: bool | str | None = None
    help: HelpModel | None = None
    deprecated: bool | None = None
    # skiff extension keys
    request: RequestSpec | None = None
    pagination: PaginationSpec | None = None
    recordsPath: str | None = None
    emitBehavior: EmitBehavior | None = None
    idempotent: bool | None = None
    polling: PollingSpec | None = None
    operationId: str | None = None
    tags: list[str] = Field(default_factory=list)
    rateLimitEndpoint: str | None = None


class CredentialsModel(_Model):
    fields: dict[str, FieldModel] = Field(default_factory=dict)
    oauth2: dict[str, Any] | None = None


class VerifySpec(_Model):
    """How ``verifyCredentials`` checks a cfg: a cheap declarative call or a handler."""

    request: RequestSpec | None = None
    main: str | None = None


class SelectModelSpec(_Model):
    """Options of a select field: ``{value: label}`` from a request or a handler."""

    request: RequestSpec | None = None
    main: str | None = None
    recordsPath: str | None = None
    valueField: str = "Id"
    labelField: str = "Name"


class ComponentModel(_Model):
    title: str
    description: str | None = None
    version: str | None = None
    docsUrl: str | None = None
    buildType: str | None = None
    credentials: CredentialsModel = Field(default_factory=CredentialsModel)
    triggers: dict[str, FunctionModel] = Field(default_factory=dict)
    actions: dict[str, FunctionModel] = Field(default_factory=dict)
    # skiff extension keys
    http: HttpSpec | None = None
    verifyCredentials: VerifySpec | None = None
    selectModels: dict[str, SelectModelSpec] = Field(default_factory=dict)

    @field_validator("triggers", "actions")
    @classmethod
    def _names(cls, value: dict[str, FunctionModel]) -> dict[str, FunctionModel]:
        for name in value:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"name {name!r} does not match {NAME_PATTERN.pattern}")
        return value
