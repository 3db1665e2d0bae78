"""Checks every request body passes before its fields are used: bounded nesting, and
text that can be encoded (a lone UTF-16 surrogate such as ``"\\ud800"`` is valid JSON
but not valid Unicode, and would fail only later, when an answer or a forwarded
request is encoded)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, model_validator

MAX_JSON_DEPTH = 32  # the deepest contract nests 4 levels; anything near this is hostile
_BASE64 = re.compile(r"(?:data:[\w.+-]+/[\w.+-]+(?:;[\w=.+-]+)*;base64,)?[A-Za-z0-9+/=\s_-]*")


def text_problem(value: Any, path: str = "body", depth: int = 0) -> str | None:
    """The first problem in a parsed JSON value, naming where: too deep, or text that is
    not valid Unicode. None when it is fine. Iterative in effect: it stops at the limit."""
    if depth > MAX_JSON_DEPTH:
        return f"{path}: nested deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{path}: not valid Unicode text (a lone surrogate)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = text_problem(key, f"{path} key", depth + 1) or text_problem(item, f"{path}.{key}", depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = text_problem(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


class RequestModel(BaseModel):
    """Base of every request body: refuses hostile nesting and unencodable text with a
    validation error (422) before any field is looked at."""

    @model_validator(mode="before")
    @classmethod
    def _safe_input(cls, data: Any) -> Any:
        problem = text_problem(data)
        if problem:
            raise ValueError(problem)
        return data


def _base64_text(value: str) -> str:
    if not value.strip():
        raise ValueError("an empty frame; send a base64-encoded image")
    if not _BASE64.fullmatch(value):
        raise ValueError("not base64 (a data: URL prefix is accepted)")
    return value


Base64Text = Annotated[str, AfterValidator(_base64_text)]
