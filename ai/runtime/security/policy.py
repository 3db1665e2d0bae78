"""The security policy of one service, built once from its settings: which keys exist,
whether they are required, who is let in, how often, and from which web pages."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ai.runtime.errors import StartupError
from ai.runtime.security.keys import GRANTABLE, KeyStore, Scope, keys_from_variable
from ai.runtime.security.network import ClientAddressing, is_loopback_host, parse_networks
from ai.runtime.security.rate_limit import RateLimiter
from ai.runtime.security.settings import SecuritySettings

logger = logging.getLogger(__name__)

SCOPE_KEY = "x-required-scope"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def default_scope(method: str) -> Scope:
    """The scope of an operation that declares none: reading needs read, running infer."""
    return Scope.READ if method.upper() in SAFE_METHODS else Scope.INFER


def requires(scope: Scope) -> dict[str, Any]:
    """``openapi_extra`` for a route needing ``scope`` (shown in the OpenAPI document too)."""
    return {SCOPE_KEY: scope.value}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key, or an anonymous caller where no key is required."""

    name: str
    scopes: frozenset[Scope]
    authenticated: bool
    loopback: bool
    rate_per_minute: float | None = None  # the key's own limits, when it has them
    burst: int | None = None

    @property
    def sees_internals(self) -> bool:
        """Weight paths and library errors: for an admin key, or a caller on this host
        that needs no key (a key names its scopes, wherever it is used from)."""
        return Scope.ADMIN in self.scopes and (self.authenticated or self.loopback)

    def allows(self, scope: Scope) -> bool:
        return scope is Scope.PUBLIC or Scope.ADMIN in self.scopes or scope in self.scopes


ANONYMOUS_SCOPES = frozenset(GRANTABLE)


@dataclass
class SecurityPolicy:
    keys: KeyStore
    enforced: bool
    allow_loopback: bool
    addressing: ClientAddressing
    rate_per_minute: float
    burst: int
    cors_origins: tuple[str, ...]
    bind_host: str
    limiter: RateLimiter = field(default_factory=RateLimiter)

    @classmethod
    def from_settings(cls, settings: SecuritySettings, bind_host: str = "127.0.0.1") -> SecurityPolicy:
        """Raises :class:`StartupError` naming the variable to fix."""
        store = KeyStore(settings.api_keys_file, keys_from_variable(settings.api_keys))
        if settings.auth_enabled == "true" and not store.configured:
            raise StartupError("AUTH_ENABLED=true but no keys: set API_KEYS_FILE or API_KEYS")
        enforced = settings.auth_enabled == "true" or (settings.auth_enabled == "auto" and store.configured)
        origins = tuple(o.rstrip("/") for o in settings.cors_allow_origins)
        if "*" in origins and enforced:
            logger.warning("CORS_ALLOW_ORIGINS=* lets any web page call this service with a key it holds")
        policy = cls(
            keys=store,
            enforced=enforced,
            allow_loopback=settings.auth_allow_loopback,
            addressing=ClientAddressing(
                parse_networks(settings.trusted_proxies, "TRUSTED_PROXIES"),
                parse_networks(settings.ip_allowlist, "IP_ALLOWLIST"),
            ),
            rate_per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            cors_origins=origins,
            bind_host=bind_host,
        )
        for warning in policy.warnings():
            logger.warning("SECURITY: %s", warning)
        return policy

    def warnings(self) -> list[str]:
        """What an operator should fix, for the log at start-up and for ``/health``."""
        found = []
        if not self.enforced and not is_loopback_host(self.bind_host):
            found.append(
                f"no API keys are required and the service listens on {self.bind_host}: anyone who can reach "
                "it can run, load and unload models; create keys with `python -m ai.runtime.security create` "
                "and set API_KEYS_FILE"
            )
        if self.enforced and self.allow_loopback:
            found.append("AUTH_ALLOW_LOOPBACK=true: callers on this host need no key")
        return found

    def status(self) -> dict[str, Any]:
        active = [k for k in self.keys.keys if not k.revoked]
        return {
            "auth": "required" if self.enforced else "off",
            "keys": len(active),
            "ip_allowlist": bool(self.addressing.allowlist),
            "rate_limit_per_minute": self.rate_per_minute,
            "cors_origins": list(self.cors_origins),
            "warnings": self.warnings(),
        }

    def cors_allows(self, origin: str) -> bool:
        return "*" in self.cors_origins or origin.rstrip("/") in self.cors_origins


class ScopeTable:
    """The scope each operation declares, read from the app's own OpenAPI document
    (which names every route, however routers were included). Operations that do not
    declare one: reading needs ``read``, anything else ``infer``. Unknown paths need
    ``read``, so a caller without a key learns nothing from probing them."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.routes: list[tuple[re.Pattern[str], dict[str, Scope]]] = []
        for template, operations in openapi.get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}:]+:path\\\}", ".*", re.escape(template))
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            declared = {
                method.upper(): Scope(operation[SCOPE_KEY])
                for method, operation in operations.items()
                if isinstance(operation, dict) and SCOPE_KEY in operation
            }
            self.routes.append((re.compile(pattern), declared))

    def required(self, method: str, path: str) -> Scope:
        if path in PUBLIC_PATHS:
            return Scope.PUBLIC
        lookup = "GET" if method == "HEAD" else method
        for pattern, declared in self.routes:
            if pattern.fullmatch(path) and lookup in declared:
                return declared[lookup]
        # Not in the schema (a hidden route, or nothing): reading needs read, anything
        # else admin, so an undeclared route never opens wider than intended.
        return Scope.READ if method in SAFE_METHODS else Scope.ADMIN
