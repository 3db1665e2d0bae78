"""Log format shared by the services (the access log is one line per request), and the
guard that keeps request data from forging log lines."""

from __future__ import annotations

import logging
import re
from typing import Any

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029|\\]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "|":
        return "\\x7c"  # the access log's field separator
    if char == "\\":
        return "\\\\"
    return char.encode("unicode_escape").decode("ascii")


def escape(value: Any, limit: int = 512) -> str:
    """``value`` on one line: control characters, line separators, the access log's ``|``
    and backslashes are escaped, so nothing a client sends can start a new log line or
    fake a field; long values are cut."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    return _UNSAFE.sub(_escape_char, text)


class EscapeArguments(logging.Filter):
    """Escapes the string arguments of every record, where request data enters logs
    (``logger.info("... %s", path)``); the message template and tracebacks stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(escape(a, 4096) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: escape(v, 4096) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(EscapeArguments())
    for noisy in ("httpx", "httpcore", "urllib3", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
