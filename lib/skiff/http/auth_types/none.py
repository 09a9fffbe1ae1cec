"""``none``: no credentials."""

from __future__ import annotations

from typing import Any, ClassVar

from skiff.specs import NoAuth

from .base import AuthType

__all__ = ["NoneAuth"]


class NoneAuth(AuthType):
    type: ClassVar[str] = "none"
    model = NoAuth

    def describe(self, entry: dict[str, Any]) -> str:
        return "none"
