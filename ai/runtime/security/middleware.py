"""The security gate in front of every route: allowlist, cross-site refusal, API key,
scope and rate limit, in that order, before the body is read. Errors are the fleet's
envelope (the request-context middleware outside renders the raised error)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from ai.runtime.context import current_request
from ai.runtime.errors import ErrorCode, ServiceError
from ai.runtime.security.keys import Scope as KeyScope
from ai.runtime.security.network import parse_address
from ai.runtime.security.policy import ANONYMOUS_SCOPES, SAFE_METHODS, Principal, ScopeTable, SecurityPolicy

CROSS_SITE = frozenset({"cross-site", "same-site"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy
        self._table: ScopeTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if _CONTROL.search(scope.get("path", "")):
            # Starlette's route patterns end in `$`, which matches before a trailing
            # newline: `/models/m/load%0A` would reach the route but not its scope.
            raise ServiceError(ErrorCode.INVALID_REQUEST, "the path contains control characters")
        principal = self.admit(scope, headers)
        info = current_request()
        if info is not None:
            info.principal = principal
        await self.app(scope, receive, send)

    def admit(self, scope: Scope, headers: dict[str, str]) -> Principal:
        """The caller, or the error that refuses it."""
        policy = self.policy
        peer = scope.get("client")
        address = policy.addressing.client(peer[0] if peer else None, headers.get("x-forwarded-for"))
        client = str(address) if address is not None else "unknown"
        info = current_request()
        if info is not None:
            info.client = client
        if not policy.addressing.allowed(address):
            raise ServiceError(ErrorCode.FORBIDDEN, f"client {client} is not in IP_ALLOWLIST")
        if scope.get("method") not in SAFE_METHODS:
            self._refuse_cross_site(headers)
        needed = self._scopes(scope).required(scope.get("method", "GET"), scope.get("path", ""))
        loopback = address is not None and address.is_loopback
        principal = self._authenticate(headers, loopback, needed)
        if not principal.allows(needed):
            raise ServiceError(
                ErrorCode.FORBIDDEN,
                f"key {principal.name!r} lacks the {needed.value!r} scope this endpoint needs",
                details={"required_scope": needed.value, "key": principal.name},
            )
        if needed is not KeyScope.PUBLIC:
            self._rate_limit(principal, client)
        return principal

    def _scopes(self, scope: Scope) -> ScopeTable:
        if self._table is None:
            app = scope.get("app")
            self._table = ScopeTable(app.openapi() if hasattr(app, "openapi") else {})
        return self._table

    def _authenticate(self, headers: dict[str, str], loopback: bool, needed: KeyScope) -> Principal:
        policy = self.policy
        anonymous = Principal("anonymous", ANONYMOUS_SCOPES, authenticated=False, loopback=loopback)
        if not policy.enforced:
            return anonymous
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if not token.strip() or scheme.lower() != "bearer":
            if policy.allow_loopback and loopback:
                return anonymous
            if needed is KeyScope.PUBLIC:
                return Principal("anonymous", frozenset(), authenticated=False, loopback=loopback)
            raise _unauthorized("this endpoint needs an API key: send `Authorization: Bearer <key>`")
        key = policy.keys.find(token.strip())
        if key is None:
            raise _unauthorized("the API key is not valid")
        if key.revoked:
            raise _unauthorized(f"the API key {key.name!r} was revoked")
        return Principal(key.name, key.scopes, True, loopback, key.rate_per_minute, key.burst)

    def _refuse_cross_site(self, headers: dict[str, str]) -> None:
        """A browser may send a POST without a preflight (no body, or a form); refuse one
        from another site unless its origin is allowed, so no web page can drive the
        service through the user's browser."""
        origin = headers.get("origin")
        if origin is not None:
            if self.policy.cors_allows(origin) or _same_origin(origin, headers.get("host", "")):
                return
            raise ServiceError(
                ErrorCode.FORBIDDEN,
                f"cross-site request from origin {origin[:100]!r} refused; allow it with CORS_ALLOW_ORIGINS",
            )
        if headers.get("sec-fetch-site", "").lower() in CROSS_SITE:
            raise ServiceError(ErrorCode.FORBIDDEN, "cross-site request refused (Sec-Fetch-Site)")

    def _rate_limit(self, principal: Principal, client: str) -> None:
        policy = self.policy
        rate = principal.rate_per_minute if principal.rate_per_minute is not None else policy.rate_per_minute
        burst = principal.burst if principal.burst is not None else policy.burst
        caller = f"key:{principal.name}" if principal.authenticated else f"ip:{client}"
        wait = policy.limiter.take(caller, rate, burst)
        if wait is not None:
            raise ServiceError(
                ErrorCode.RATE_LIMIT_EXCEEDED,
                f"rate limit of {rate:g} requests per minute (burst {burst}) exceeded; retry in {wait:.1f}s",
                details={"rate_limit_per_minute": rate, "burst": burst},
                retry_after=wait,
            )


def _unauthorized(message: str) -> ServiceError:
    error = ServiceError(ErrorCode.UNAUTHORIZED, message)
    error.extra_headers["WWW-Authenticate"] = 'Bearer realm="ai-fleet"'
    return error


def _same_origin(origin: str, host: str) -> bool:
    """The service's own pages (the API docs) posting to itself, when it is addressed by
    an IP address or localhost. A DNS name is not trusted: a hostile name can be rebound
    to the service's address, and the browser would then call the page same-origin."""
    parts = urlsplit(origin)
    if not host or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return False
    name = parts.hostname or ""
    return name == "localhost" or parse_address(name) is not None
