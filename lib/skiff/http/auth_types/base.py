"""What an auth type is: one class that the HTTP layer, the generator and the docs all ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from skiff.specs import AuthModel

__all__ = ["AuthType", "Put"]

Put = Callable[[str, str, str], None]
"""``put(where, name, value)``: add a header (``where="header"``) or query parameter (``"query"``)."""


class AuthType:
    """One auth ``type`` of component.json.

    ``model`` is the pydantic model of its entry (a subclass of :class:`skiff.specs.AuthModel`
    whose ``type`` is ``Literal[<type>]``): ``skiff validate``, the HTTP layer and the published
    schema check entries with it. ``apply`` adds the fixed headers or query parameters (token flows return False and are
    built by the HTTP layer); ``secrets`` lists the values never to show; ``describe`` is one
    line for a README; ``generate`` turns an OpenAPI security scheme of this kind into
    credential fields and the auth entry that reads them.
    """

    model: ClassVar[type[AuthModel]]  # before ``type``, which shadows the builtin in this body
    type: ClassVar[str]

    def apply(self, spec: Any, put: Put) -> bool:
        """Add what ``spec`` sends with every request; False when it is a token flow instead."""
        return True

    def secrets(self, spec: Any) -> list[str]:
        return []

    def describe(self, entry: dict[str, Any]) -> str:
        raise NotImplementedError

    def generate(
        self, scheme: Any, name: Callable[[str], str], order: int, base: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """Credential fields (name → field) and the auth entry for an OpenAPI security scheme."""
        raise NotImplementedError


def field(label: str, view: str, order: int, **extra: Any) -> dict[str, Any]:
    """A required credential field of component.json."""
    return {"label": label, "viewClass": view, "required": True, **extra, "order": order}
