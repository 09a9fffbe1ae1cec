"""``none``: no credentials."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import AuthType

__all__ = ["NoneAuth"]


class NoneAuth(AuthType):
    type: ClassVar[str] = "none"

    def describe(self, entry: dict[str, Any]) -> str:
        return "none"
