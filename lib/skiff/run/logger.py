"""The handler's ``ctx.logger``: a logger that redacts the call's secrets from every line."""

from __future__ import annotations

import logging
from typing import Any

from ..http.redact import redact

__all__ = ["RedactingLogger"]


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """Every message passes through redaction first (arguments are formatted before)."""

    def __init__(self, logger: logging.Logger, secrets: list[str]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        text = str(msg)
        if kwargs.get("args") is None and self._secrets:
            text = redact(text, self._secrets)
        return text, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            text, kwargs = self.process(text, kwargs)
            self.logger.log(level, text, **kwargs)
