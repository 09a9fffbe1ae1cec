"""The error taxonomy: each class tells the platform what to do with a failed call.

A user sees ``str(error)``: one line, no traceback, no secret. ``exit_code`` is what the
``skiff`` CLI exits with; ``retryable`` tells a runner whether a rebound may help.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "ComponentError",
    "ConfigError",
    "InputError",
    "RateLimited",
    "SkiffError",
    "TransientError",
]


class SkiffError(Exception):
    """Base of every error skiff raises on purpose."""

    kind = "SkiffError"
    exit_code = 1
    retryable = False

    def __init__(self, message: str, *, where: str | None = None) -> None:
        # Keep messages on one line: a multi-line vendor message would break log parsers.
        self.message = " ".join(str(message).split())
        self.where = where
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def one_line(self) -> str:
        """The line the CLI prints: ``error: <Kind>: <message>``."""
        return f"error: {self.kind}: {self}"


class ConfigError(SkiffError):
    """Bad cfg or component.json: fix it and redeploy; retrying will not help."""

    kind = "ConfigError"
    exit_code = 2


class InputError(SkiffError):
    """The incoming message does not match the in-schema; the original message is kept."""

    kind = "InputError"
    exit_code = 2


class AuthError(SkiffError):
    """401/403 or a failed token request: fix the credentials."""

    kind = "AuthError"
    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.status = status


class ApiError(SkiffError):
    """The API refused the request: carries the status and the vendor's own code and message."""

    kind = "ApiError"
    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: Any = None,
        method: str | None = None,
        url: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message, where=where)
        self.status = status
        self.code = code
        self.method = method
        self.url = url


class TransientError(SkiffError):
    """A failure that may pass (5xx, connection, timeout) and outlived the retry budget."""

    kind = "TransientError"
    exit_code = 5
    retryable = True


class RateLimited(TransientError):
    """The API kept answering 429 after the retry budget; rebound later."""

    kind = "RateLimited"

    def __init__(self, message: str, *, retry_after: float | None = None, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.retry_after = retry_after


class ComponentError(SkiffError):
    """A bug in a handler (an unexpected exception); the traceback goes to the debug log."""

    kind = "ComponentError"
    exit_code = 1
