"""API keys: random tokens stored only as SHA-256 hashes, each with a name and scopes.

Keys are 256-bit random tokens, so a fast hash is enough (no password stretching is
needed against guessing a 43-character random string); only the hash is ever stored.
The keys file is re-read when it changes, so a revoked key stops working without a
restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ai.runtime.errors import StartupError

logger = logging.getLogger(__name__)

KEY_PREFIX = "hsk_"
HASH_PREFIX = "sha256:"
RELOAD_CHECK_S = 1.0
KEY_FIELDS = frozenset(
    {"name", "key_hash", "scopes", "revoked", "created", "rate_limit_per_minute", "rate_limit_burst"}
)


class Scope(StrEnum):
    READ = "read"  # status, metrics, listings
    INFER = "infer"  # running models
    ADMIN = "admin"  # load, unload, preload, anything that writes; implies the others
    PUBLIC = "public"  # health and readiness probes, the API docs: no key needed


DEFAULT_SCOPES = frozenset({Scope.READ, Scope.INFER})
GRANTABLE = (Scope.READ, Scope.INFER, Scope.ADMIN)


def hash_key(key: str) -> str:
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_scopes(value: Iterable[str] | str | None, where: str) -> frozenset[Scope]:
    """Scopes from a list or ``"read+infer"``; none given means read and infer."""
    if value is None:
        return DEFAULT_SCOPES
    names = [v.strip() for v in (value.replace("+", ",").split(",") if isinstance(value, str) else value)]
    scopes = set()
    for name in filter(None, names):
        try:
            scope = Scope(name.lower())
        except ValueError:
            scope = None
        if scope not in GRANTABLE:
            raise StartupError(f"{where}: unknown scope {name!r}; use {', '.join(s.value for s in GRANTABLE)}")
        scopes.add(scope)
    return frozenset(scopes) or DEFAULT_SCOPES


def _normal_hash(value: str, where: str) -> str:
    digest = value.strip().lower().removeprefix(HASH_PREFIX)
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise StartupError(f"{where}: key_hash must be a SHA-256 hex digest (64 hex digits, optionally 'sha256:')")
    return HASH_PREFIX + digest


@dataclass(frozen=True)
class ApiKey:
    name: str
    key_hash: str
    scopes: frozenset[Scope] = DEFAULT_SCOPES
    revoked: bool = False
    rate_per_minute: float | None = None
    burst: int | None = None
    created: str | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "key_hash": self.key_hash, "scopes": sorted(self.scopes)}
        if self.revoked:
            row["revoked"] = True
        if self.rate_per_minute is not None:
            row["rate_limit_per_minute"] = self.rate_per_minute
        if self.burst is not None:
            row["rate_limit_burst"] = self.burst
        if self.created is not None:
            row["created"] = self.created
        return row


def key_from_row(row: Any, where: str) -> ApiKey:
    if not isinstance(row, dict) or not isinstance(row.get("name"), str) or "key_hash" not in row:
        raise StartupError(f"{where}: each key needs a 'name' and a 'key_hash'")
    unknown = set(row) - {
        "name",
        "key_hash",
        "scopes",
        "revoked",
        "created",
        "rate_limit_per_minute",
        "rate_limit_burst",
    }
    if unknown:
        raise StartupError(f"{where}: key {row['name']!r} has unknown fields {sorted(unknown)}")
    return ApiKey(
        name=row["name"],
        key_hash=_normal_hash(str(row["key_hash"]), where),
        scopes=parse_scopes(row.get("scopes"), f"{where}: key {row['name']!r}"),
        revoked=bool(row.get("revoked", False)),
        rate_per_minute=row.get("rate_limit_per_minute"),
        burst=row.get("rate_limit_burst"),
        created=row.get("created"),
    )


def keys_from_variable(value: str) -> list[ApiKey]:
    """``API_KEYS``: ``name:hash[:scope+scope]``, comma-separated."""
    keys = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        fields = part.split(":")
        if fields[1:2] == ["sha256"]:  # "name:sha256:<hex>[:scopes]"
            fields = [fields[0], "sha256:" + fields[2], *fields[3:]] if len(fields) > 2 else fields
        if len(fields) not in (2, 3) or not fields[0]:
            raise StartupError(f"API_KEYS: expected name:sha256-hash[:scope+scope], got {part.split(':')[0]!r}:...")
        where = f"API_KEYS ({fields[0]})"
        scopes = parse_scopes(fields[2], where) if len(fields) == 3 else DEFAULT_SCOPES
        keys.append(ApiKey(fields[0], _normal_hash(fields[1], where), scopes))
    return keys


def read_keys_file(path: Path) -> list[ApiKey]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StartupError(
            f"API_KEYS_FILE {path} does not exist; create it with `python -m ai.runtime.security`"
        ) from None
    except (OSError, ValueError) as exc:
        raise StartupError(f"API_KEYS_FILE {path} is not readable JSON: {exc}") from exc
    rows = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise StartupError(f'API_KEYS_FILE {path}: expected {{"keys": [...]}}')
    return [key_from_row(row, f"API_KEYS_FILE {path}") for row in rows]


def write_keys_file(path: Path, keys: list[ApiKey]) -> None:
    """Write atomically with owner-only permissions (the hashes are not secrets, but
    nobody else needs to read them)."""
    rows = [key.to_json() for key in keys]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"keys": rows}, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


@dataclass
class KeyStore:
    """The configured keys: ``API_KEYS_FILE`` (re-read when it changes) plus ``API_KEYS``."""

    file: Path | None = None
    inline: list[ApiKey] = field(default_factory=list)
    _file_keys: list[ApiKey] = field(default_factory=list)
    _mtime: tuple[int, int, int] | None = None
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.file is not None:
            self._file_keys = read_keys_file(self.file)
            self._mtime = _signature(self.file.stat())
        names = [k.name for k in self.keys]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise StartupError(f"API keys: names must be unique; repeated: {', '.join(repeated)}")

    @property
    def keys(self) -> list[ApiKey]:
        return [*self._file_keys, *self.inline]

    @property
    def configured(self) -> bool:
        return bool(self.file is not None or self.inline)

    def find(self, token: str) -> ApiKey | None:
        """The key whose hash matches ``token`` (revoked ones too: the caller says so)."""
        self._reload_if_changed()
        digest = hash_key(token)
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.key_hash, digest):
                found = key
        return found

    def _reload_if_changed(self) -> None:
        if self.file is None or time.monotonic() - self._checked < RELOAD_CHECK_S:
            return
        with self._lock:
            self._checked = time.monotonic()
            try:
                mtime = _signature(self.file.stat())
            except OSError as exc:
                mtime = None
                problem: Exception | None = exc
            if mtime == self._mtime:
                return
            self._mtime = mtime  # a bad file is reported once, not on every request
            try:
                if mtime is None:
                    raise StartupError(f"API_KEYS_FILE {self.file}: {problem}")
                self._file_keys = read_keys_file(self.file)
                logger.info("re-read %d API keys from %s", len(self._file_keys), self.file)
            except StartupError as exc:  # keep the last good keys; say why
                logger.error("keeping the previous API keys: %s", exc)


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    """What changes when the file is rewritten, even twice within one timestamp tick."""
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
