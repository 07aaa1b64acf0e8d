"""Where feed and article requests may go: public addresses only, unless NEWSDESK_FETCH_ALLOW says otherwise.

Feed lists and feed entries come from outside; without this a feed marked full-text whose links point at
http://127.0.0.1:8080/admin, a cloud metadata address (169.254.169.254) or an intranet host would make
`newsdesk refresh` fetch them for whoever wrote the feed (SSRF). The check runs on the address a connection
actually goes to (see PinnedTransport), so every redirect hop and every full-text page is covered, and a DNS
answer cannot change between the check and the connect (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import unquote

import httpcore
import httpx

from assistant.errors import NewsdeskError

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HINT = "(set NEWSDESK_FETCH_ALLOW to allow it)"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")   # DNS64 synthesizes these for IPv4-only hosts on IPv6-only networks
# Not public, yet `is_global` says they are on Python 3.11 (fixed in later releases) or does not name them.
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")     # carrier-grade NAT: the provider's inside
_IETF = ipaddress.IPv4Network("192.0.0.0/24")        # IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
_HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_DEC, _OCT, _HEX = re.compile(r"[1-9][0-9]*|0"), re.compile(r"0[0-7]+"), re.compile(r"0x[0-9a-f]*")


class Refused(Exception):
    """The policy refuses this address; the message is one line starting with "refused:"."""


class AllowListError(NewsdeskError, ValueError):
    """NEWSDESK_FETCH_ALLOW holds an entry that is neither a network nor a host name."""


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` names when it is a numeric literal in any form a resolver accepts, else None.

    inet_aton(3), which getaddrinfo uses for numbers, reads more than dotted quads: 2130706433, 0177.0.0.1,
    0x7f.1 and 127.1 are all 127.0.0.1; so are percent-encoded and trailing-dot spellings of them. Parsing them
    here names the address in the refusal instead of letting a resolver or httpx interpret the text."""
    text = unquote(host).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)   # zone ids (fe80::1%eth0) included
        except ValueError:
            return None
    text = text[:-1] if text.endswith(".") else text
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part[2:] or "0", 16))
        elif _OCT.fullmatch(part):
            numbers.append(int(part, 8))
        elif _DEC.fullmatch(part):
            numbers.append(int(part))
        else:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (24 - 8 * i)
    return ipaddress.IPv4Address(value)


def _embedded_v4(ip: IPAddress) -> tuple[ipaddress.IPv4Address, bool] | None:
    """The IPv4 address an IPv6 address carries, and whether the IPv4 address alone decides (True for
    IPv4-mapped and NAT64, which reach exactly that IPv4 host; 6to4 and Teredo are judged on both)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, True
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), True
    if ip.sixtofour is not None:
        return ip.sixtofour, False
    if ip.teredo is not None:
        return ip.teredo[1], False
    return None


def address_kind(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address ("a loopback address", ...), or None when it is one."""
    # The named categories come first so the refusal says what the address is; `is_global` last catches the
    # rest (documentation and benchmarking ranges, 0.0.0.0/8, ...). is_global alone is not enough: it is
    # True for multicast, for IPv6 site-local (fec0::/10) and for 6to4 addresses that embed 127.0.0.1.
    if ip.is_unspecified:
        return "an unspecified address"   # 0.0.0.0 and :: reach the local host on Linux
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"     # 169.254.169.254 is the cloud metadata service
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private and not ip.is_reserved:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if not ip.is_global or ip in _IETF:
        return "not a public address"
    return None


@dataclass(frozen=True)
class NetPolicy:
    """Public addresses only, plus what the allow-list names: networks (CIDR or single address) and host names
    ("intranet.example" exactly, "*.corp.example" for its subdomains)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def from_allow(cls, allow: str | Iterable[str] = ()) -> NetPolicy:
        """From NEWSDESK_FETCH_ALLOW: comma-separated entries. Raises AllowListError naming a bad entry."""
        entries = allow.split(",") if isinstance(allow, str) else list(allow)
        networks: list[IPNetwork] = []
        hosts: list[str] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            literal = ip_literal(entry)
            if literal is not None:
                networks.append(ipaddress.ip_network(literal))
            elif "/" not in entry and _HOST_RE.fullmatch(entry.rstrip(".")):
                hosts.append(entry.rstrip("."))
            else:
                raise AllowListError(f"NEWSDESK_FETCH_ALLOW: {raw.strip()!r} is neither a network (CIDR) nor a host "
                                     "name")
        return cls(networks=tuple(networks), hosts=tuple(hosts))

    def host_allowed(self, host: str) -> bool:
        name = unquote(host).strip().lower().rstrip(".")
        return any(name == h or (h.startswith("*.") and name.endswith(h[1:])) for h in self.hosts)

    def _allowed(self, ip: IPAddress) -> bool:
        bare = ipaddress.IPv6Address(int(ip)) if isinstance(ip, ipaddress.IPv6Address) else ip  # no zone id
        inner = _embedded_v4(ip)
        candidates: list[IPAddress] = [bare] + ([inner[0]] if inner else [])
        return any(c in net for c in candidates for net in self.networks if c.version == net.version)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why `ip` is refused ("is a loopback address", "embeds 127.0.0.1, a loopback address"), or None."""
        if self._allowed(ip):
            return None
        inner = _embedded_v4(ip)
        if inner is not None:
            v4, decides = inner
            kind = address_kind(v4)
            if kind is not None:
                return f"embeds {v4}, {kind}"
            if decides:
                return None
        kind = address_kind(ip)
        return None if kind is None else f"is {kind}"

    def check_literal(self, host: str) -> IPAddress | None:
        """Refuse a numeric host before any connection. Returns the address when `host` is a literal (and
        allowed); None for a name, which is resolved and checked when connecting (see addresses)."""
        ip = ip_literal(host)
        if ip is None:
            return None
        reason = self.refusal(ip)
        if reason is not None:
            shown = unquote(host).strip("[]")
            name = str(ip) if shown == str(ip) else f"{shown} ({ip})"
            raise Refused(f"refused: {name} {reason} {ALLOW_HINT}")
        return ip

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Resolve `host` once and return the addresses a connection may use; raises Refused when any of them
        is refused (a name that also points inward is not trusted at all), OSError when it does not resolve."""
        literal = self.check_literal(host)
        if literal is not None:
            return [literal]
        found = resolve_host(host, port)
        if not self.host_allowed(host):
            for ip in found:
                reason = self.refusal(ip)
                if reason is not None:
                    raise Refused(f"refused: {host} resolves to {ip}, which {reason} {ALLOW_HINT}")
        return found


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host`, in the resolver's order, without duplicates. Module-level so tests can stub
    DNS; the connection goes to what this returned, never to a second lookup."""
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0])
        if isinstance(ip, ipaddress.IPv6Address) and not ip.scope_id and len(sockaddr) > 3 and sockaddr[3]:
            ip = ipaddress.IPv6Address(f"{ip}%{sockaddr[3]}")
        if ip not in found:
            found.append(ip)
    return found


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every TCP connection resolves its host once, checks each address and
    connects to a checked address (by number, so the OS resolver is not asked again)."""

    def __init__(self, policy: NetPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self.policy.addresses(host, port)
        except OSError as exc:  # the name does not resolve: a connection error, retried like one
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for ip in addresses:
            try:
                return super().connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)
            except httpcore.ConnectError as exc:  # like socket.create_connection: try the next address
                error = exc
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with the checked backend.

    Why a network backend rather than rewriting the URL to the checked IP: httpx keeps the URL's host for the
    Host header, for TLS (SNI and certificate checks) and for its connection pool key, so nothing else changes;
    rewriting would pool connections by IP and could send one host's request down another host's TLS
    connection. The check runs where the socket is opened, so it covers every redirect hop and every request
    made through the Fetcher, and a connection reused from the pool was checked when it was opened.
    Proxies from the environment are not used: the address check would see only the proxy."""

    def __init__(self, *, policy: NetPolicy) -> None:
        super().__init__()
        # httpx.HTTPTransport takes no network backend, so its pool is replaced by the same pool (httpx's
        # default limits and TLS context) with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=_CheckedBackend(policy))
