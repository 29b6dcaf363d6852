"""Which webhook targets are safe to call: http(s) only, and never an address inside the
operator's network (loopback, private, link-local, multicast, reserved) unless the operator
allows it. Checked when a batch names its URL and again, with a fresh lookup, before every
attempt: the request then goes to the very address that was checked (no DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crmbatch.core.errors import CrmError

MAX_URL = 2048

#: ``host, port`` → the addresses it resolves to (``socket.getaddrinfo`` by default)
Resolver = Callable[[str, int], list[str]]


class UnsafeTarget(CrmError):
    """A webhook URL crmbatch will not call; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    #: the address to connect to: checked, and the same for the whole attempt
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: NAT64's well-known prefix (RFC 6052): the IPv4 address is the last 32 bits
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo server and
    client, NAT64): each must pass the check too, since a gateway may deliver to it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    out = []
    if address.ipv4_mapped is not None:
        out.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        out.append(address.sixtofour)
    if address.teredo is not None:
        out.extend(address.teredo)
    packed = int(address)
    if address in _NAT64 or (packed >> 32 == 0 and packed > 1):  # NAT64, IPv4-compatible
        out.append(ipaddress.IPv4Address(packed & 0xFFFFFFFF))
    return out


def _refused(address: Address) -> str | None:
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    for inner in _embedded(address):
        why = _refused(inner)
        if why is not None:
            return why if mapped else f"{why} address inside an IPv6"
    if mapped:
        return None
    for what, hit in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),  # shared (100.64/10), documentation, …
    ):
        if hit:
            return what
    return None


def _lookup(
    resolve: Resolver, host: str, port: int
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        return []


def check(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver = system_resolver,
    field: str = "webhook_url",
) -> Target:
    """The target ``url`` names, resolved; :class:`UnsafeTarget` when it may not be called."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise UnsafeTarget(f"{field}: a URL of 1 to {MAX_URL} characters", field=field)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeTarget(f"{field}: the URL contains control characters", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeTarget(f"{field}: not a valid URL ({e})", field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget(f"{field}: only http and https URLs can be called", field=field)
    host = parts.hostname or ""
    if not host:
        raise UnsafeTarget(f"{field}: the URL has no host", field=field)
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(f"{field}: credentials in the URL are not accepted", field=field)
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = _lookup(resolve, host, port)
        if not addresses:
            raise UnsafeTarget(
                f"{field}: the host {host!r} does not resolve", field=field
            ) from None
    if not allow_private:
        for address in addresses:
            why = _refused(address)
            if why is not None:
                raise UnsafeTarget(
                    f"{field}: {host!r} is a {why} address ({address}); webhooks go to public "
                    "addresses only (the operator can allow others with "
                    "CRMBATCH_WEBHOOK_ALLOW_PRIVATE=true)",
                    field=field,
                )
    return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]))
