"""Where a request comes from: the peer address, or behind a trusted reverse proxy the
address the proxy saw; and whether that address is allowed in."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from ai.runtime.errors import StartupError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str], variable: str) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise StartupError(f"{variable}: {value!r} is not an IP address or CIDR (e.g. 192.168.1.0/24)") from None
    return tuple(networks)


def parse_address(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback_host(host: str) -> bool:
    """Whether a bind address only accepts local connections."""
    if host.strip().lower() == "localhost":
        return True
    address = parse_address(host)
    return address is not None and address.is_loopback


@dataclass(frozen=True)
class ClientAddressing:
    """Resolves the client address. ``X-Forwarded-For`` is believed only when the peer
    is a trusted proxy, and then read from the right, skipping further trusted proxies,
    so a client cannot choose its own address by sending the header."""

    trusted_proxies: tuple[Network, ...] = ()
    allowlist: tuple[Network, ...] = ()

    def client(self, peer: str | None, forwarded_for: str | None) -> Address | None:
        address = parse_address(peer) if peer else None
        if address is None or not forwarded_for or not self._trusted(address):
            return address
        for hop in reversed(forwarded_for.split(",")):
            hop_address = parse_address(_without_port(hop))
            if hop_address is None:
                return None  # a malformed hop ("unknown", garbage): the client is unknown, refused by an allowlist
            address = hop_address
            if not self._trusted(address):
                break
        return address

    def allowed(self, address: Address | None) -> bool:
        if not self.allowlist:
            return True
        return address is not None and any(address in network for network in self.allowlist)

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted_proxies)


def _without_port(hop: str) -> str:
    """``1.2.3.4:5678`` and ``[::1]:5678`` as some proxies send them, without the port."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1 : hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop
