"""pydantic models of component.json: elastic.io's whole vocabulary plus skiff's extension keys.

elastic.io keys keep their names and meaning, including the ones skiff only carries along for
the platform (``envVars``, ``authClientTypes``, ``useOAuthClient``, ``oauth2``, ``icon``,
``language``, ``service``, ``url``, ``buildType``; ``credentials.verifier``/``oauth1``/``oauth2``;
a function's ``order``, ``deprecated``, ``help``, ``dynamicMetadata`` and webhook triggers; a
field's ``help``, ``description``, ``require``, ``prompt``, ``order``, ``note``, ``placeholder``,
``prefix``, ``suffix`` and ``model`` as an object, a list or a function name).

skiff's additions are ``http``, ``verifyCredentials`` and ``selectModels`` on the component, and
``request``, ``pagination``, ``recordsPath``, ``emitBehavior``, ``idempotent``, ``polling``,
``operationId``, ``tags`` and ``rateLimitEndpoint`` on an action or trigger. elastic.io ignores
them; everything else unknown is an error, because a typo in a key silently changes nothing on
elastic.io either.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..specs import EmitBehavior, HttpSpec, PaginationSpec, PollingSpec, RequestSpec

__all__ = [
    "NAME_PATTERN",
    "VIEW_CLASSES",
    "VIEW_CLASS_PATTERN",
    "ComponentModel",
    "CredentialsModel",
    "EnvVarModel",
    "FieldModel",
    "FunctionModel",
    "HelpModel",
    "MetadataModel",
    "SelectModelSpec",
    "VerifySpec",
]

NAME_PATTERN = re.compile(r"^[A-Za-z]\w*$")

# The view classes elastic.io's UI knows (its component.json documentation and the view classes
# that public components use). A tenant's UI may add its own ``...View`` classes: ``validate``
# warns about an unknown one instead of rejecting the file.
ViewClass = Literal[
    "TextFieldView",
    "TextFieldWithNoteView",
    "TextAreaView",
    "TextAreaWithNoteView",
    "PasswordFieldView",
    "CheckBoxView",
    "SelectView",
    "MultiSelectView",
    "SelectPropertyView",
    "CodeFieldView",
    "CodeFieldWithNoteView",
    "JSONataView",
    "WebHookURLView",
    "WebhookAuthView",
    "WebHookPayloadView",
    "OAuthFieldView",
    "HTTPAuthView",
    "RESTAPIView",
    "CSVReadView",
    "CSVWriteView",
    "NumberFieldView",
    "DateTimeFieldView",
]
VIEW_CLASSES: tuple[str, ...] = get_args(ViewClass)
VIEW_CLASS_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]*View$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HelpModel(_Model):
    description: str | None = None
    link: str | None = None


class FieldModel(_Model):
    """A credential or function field, rendered as a form control by the flow builder."""

    label: str | None = None
    # One of VIEW_CLASSES or a tenant's own ``...View`` (checked by ``validate``).
    viewClass: str = Field("TextFieldView", pattern=VIEW_CLASS_PATTERN.pattern)
    required: bool = False
    # A select model: the name of a function, static {value: label}, or a list of values.
    model: str | dict[str, str] | list[str] | None = None
    placeholder: str | None = None
    note: str | None = None
    prompt: str | None = None
    help: HelpModel | None = None
    description: str | None = None
    # The fields this one depends on (the UI asks for them first).
    require: list[str] | str | None = None
    prefix: str | None = None
    suffix: str | None = None
    default: Any = None
    order: int | float | None = None
    # skiff: the JSON Schema type of the value (cfg is validated against it).
    type: Literal["string", "number", "integer", "boolean", "object", "array"] | None = None


class MetadataModel(_Model):
    """In/out JSON Schemas: inline or a ``./schemas/x.json`` path, resolved by the loader."""

    in_: dict[str, Any] | str | None = Field(None, alias="in")
    out: dict[str, Any] | str | None = None


class FunctionModel(_Model):
    """An action or a trigger."""

    title: str
    description: str | None = None
    main: str | None = None
    # A trigger without a type is a webhook trigger on elastic.io.
    type: Literal["polling", "webhook"] | None = None
    fields: dict[str, FieldModel] = Field(default_factory=dict)
    metadata: MetadataModel = Field(default_factory=lambda: MetadataModel.model_validate({}))
    # true: the handler module's getMetaModel; a string: a Java provider class.
    dynamicMetadata: bool | str | None = None
    help: HelpModel | None = None
    deprecated: bool | None = None
    order: int | float | None = None
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
    # The platform runs the OAuth dance; skiff carries these for it (provider keys vary).
    oauth1: dict[str, Any] | None = None
    oauth2: dict[str, Any] | None = None
    # A Java component's credentials verifier class.
    verifier: str | None = None


class EnvVarModel(_Model):
    """An environment variable the platform sets for the component."""

    required: bool = False
    description: str | None = None


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
    url: str | None = None
    icon: str | None = None
    # The sailor language: "nodejs", "java" (or "python" for skiff).
    language: str | None = None
    buildType: str | None = None
    service: str | None = None
    deprecated: bool | None = None
    envVars: dict[str, EnvVarModel] = Field(default_factory=dict)
    authClientTypes: list[str] = Field(default_factory=list)
    useOAuthClient: bool | None = None
    useOAuth2: bool | None = None
    oauth2: dict[str, Any] | None = None
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
