"""What most callers may not see: weight paths and library error text. Admin keys and
callers on the service's own host see everything (``context.sees_internals``)."""

from __future__ import annotations

import re
from typing import Any

from ai.runtime.context import sees_internals

_PATH = re.compile(r"(?:[A-Za-z]:)?(?:~|\.{1,2})?(?:[\\/][^\s\\/'\"`,;:()\[\]{}<>]+){2,}[\\/]?")
HIDDEN = "<path>"


def redact_text(text: str) -> str:
    """``text`` with every filesystem path replaced by ``<path>``."""
    return _PATH.sub(HIDDEN, text)


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


def for_caller(text: str | None) -> str | None:
    """``text`` as the current caller may see it."""
    if text is None or sees_internals():
        return text
    return redact_text(text)
