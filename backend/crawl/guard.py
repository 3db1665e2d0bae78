"""Which URLs the crawler may fetch. A crawler fetches what it is told to, so without a
guard it is a way into the home network (the router's admin page, the cloud metadata
address, the fleet's own services): every URL the browser requests passes ``check_url``.

Only http and https; the host must be in CRAWL_ALLOWED_HOSTS when that is set; and,
unless CRAWL_ALLOW_PRIVATE, every address the host resolves to must be public. The
addresses are those of the system resolver, so odd literal forms (``2130706433``,
``0177.0.0.1``) are judged by what they mean, not how they are spelled."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from ai.runtime.errors import ErrorCode, ServiceError
from backend.settings import BackendSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# A host's verdict within one crawl (None: allowed), so a page's hundred images cost one lookup.
HostCache = dict[str, ServiceError | None]


async def check_url(url: str, settings: BackendSettings, cache: HostCache | None = None) -> SplitResult:
    """The parsed URL when the crawler may fetch it; else a ServiceError: 422 for a scheme
    other than http(s) or no host, 403 for a host or address refused, 502 when the host
    does not resolve."""
    if any(c == "\\" or ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        # Browsers read a backslash as "/" and drop tabs and newlines, Python does not: the same text
        # would name one host to this check and another to the fetch.
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            "the URL contains a backslash, a space or a control character; percent-encode them",
            status=422,
            details={"field": "url"},
        )
    try:
        parsed = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket
        raise ServiceError(ErrorCode.INVALID_REQUEST, f"the URL is malformed: {exc}", status=422) from exc
    scheme = parsed.scheme.lower()
    if scheme not in SCHEMES:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST,
            f"the crawler fetches http and https URLs only, not {scheme + ':' if scheme else 'a URL without a scheme'}",
            status=422,
            details={"field": "url", "scheme": scheme},
        )
    try:
        port = parsed.port or SCHEMES[scheme]
    except ValueError as exc:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, "the URL's port is not a number from 0 to 65535", status=422
        ) from exc
    if parsed.netloc.count("@") > 1:
        raise ServiceError(
            ErrorCode.INVALID_REQUEST, "the URL's authority holds more than one '@'", status=422, details={"url": url}
        )
    host = normalise_host(parsed.hostname or "")
    if not host:
        raise ServiceError(ErrorCode.INVALID_REQUEST, "the URL has no host", status=422, details={"field": "url"})
    if cache is not None and host in cache:
        refusal = cache[host]
    else:
        refusal = await _refusal(host, port, settings)
        if cache is not None:
            cache[host] = refusal
    if refusal is not None:
        raise refusal
    return parsed


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, IDNA (as the browser sends it), no IPv6 brackets."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_allowed(host: str, allowed: list[str]) -> bool:
    """``example.com`` matches itself only; ``*.example.com`` matches its subdomains (not itself)."""
    for entry in allowed:
        pattern = normalise_host(entry)
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def address_class(address: IPAddress) -> str | None:
    """Why the address is not public (None: it is). An IPv6 address that carries an IPv4
    one (mapped, 6to4, NAT64, Teredo) is judged by that IPv4 address as well."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            found = address_class(inner)
            if found:
                return f"{found} (inside the IPv6 address)"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.version == 4 and address in CGNAT, "shared (CGNAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "non-public"),
    )
    return next((name for hit, name in checks if hit), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.teredo:
        found.append(address.teredo[1])
    return found


async def _refusal(host: str, port: int, settings: BackendSettings) -> ServiceError | None:
    if settings.crawl_allowed_hosts and not host_allowed(host, settings.crawl_allowed_hosts):
        return ServiceError(
            ErrorCode.FORBIDDEN,
            f"host {host!r} is not in CRAWL_ALLOWED_HOSTS",
            details={"host": host},
        )
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return ServiceError(ErrorCode.FETCH_FAILED, f"host {host!r} does not resolve: {exc}", details={"host": host})
    if settings.crawl_allow_private:
        return None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        found = address_class(address)
        if found:
            return ServiceError(
                ErrorCode.FORBIDDEN,
                f"host {host!r} resolves to {address}, a {found} address; the crawler fetches public addresses "
                "only (CRAWL_ALLOW_PRIVATE=true allows private ones)",
                details={"host": host, "address": str(address), "address_class": found},
            )
    return None
