"""The rules for customer URLs: which schemes, hosts and addresses we contact."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 4096


class UnsafeURLError(Exception):
    """A customer URL we refuse to fetch, or a fetch that failed.

    `reason` is a machine code (see `REASON_CODES`); `message` is a sentence
    for the customer that names the field.
    """

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message


REASON_CODES = frozenset(
    {
        "bad_url",
        "scheme",
        "userinfo",
        "private_address",
        "loopback",
        "link_local",
        "metadata",
        "multicast",
        "reserved",
        "unresolvable",
        "redirect",
        "too_large",
        "timeout",
        "connect_error",
        "http_error",
        "content_type",
    }
)


@dataclass(frozen=True)
class ResolvedURL:
    """A URL that passed the rules, with the address the request must go to."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str


def _refuse(field: str, reason: str, detail: str) -> UnsafeURLError:
    message = f"{field}: {detail}; only public http(s) URLs are allowed."
    return UnsafeURLError(field, reason, message)


_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server (public-looking, host-only)
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT, also cloud-internal services
        "fc00::/7",
        "fec0::/10",  # deprecated site-local
        "64:ff9b:1::/48",  # local-use NAT64
    )
)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_ADDRESS_LABELS = {
    "metadata": "a cloud metadata address",
    "loopback": "a loopback address",
    "link_local": "a link-local address",
    "private_address": "a private network address",
    "multicast": "a multicast address",
    "reserved": "a reserved or non-public address",
}


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 transition address, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """The reason code for which `ip` may not be contacted, or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and (reason := address_refusal(inner)):
            return reason
        if ip.scope_id:
            return "link_local"
    if ip in _METADATA:
        return "metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if any(ip in network for network in _PRIVATE_NETWORKS if network.version == ip.version):
        return "private_address"
    if ip.is_multicast:
        return "multicast"
    # Covers 0.0.0.0/8, ::, 240/4, broadcast, documentation and benchmark
    # ranges, and whatever else IANA does not route on the internet.
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


# --- URL parsing --------------------------------------------------------------

_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the forms inet_aton() accepts: 127.1, 0x7f000001, 2130706433, 0177.0.0.1.

    Returns None when `host` is not all-numeric (a name); raises ValueError
    when it is numeric but not a valid address.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        return None
    values = []
    for part in parts:
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        raise ValueError(host)
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _ip_literal(host: str) -> IPAddress | None:
    """The address written in the URL itself, in any notation; None for a name."""
    if ":" in host:
        return ipaddress.IPv6Address(host.replace("%25", "%", 1))
    return _legacy_ipv4(host)


def _parse(url: str, field: str) -> httpx.URL:
    if not url or len(url) > MAX_URL_LENGTH or _FORBIDDEN_CHARS.search(url):
        raise _refuse(field, "bad_url", "the URL is empty, too long or contains invalid characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _unparsable(url, field, exc) from exc
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "none"
        raise _refuse(field, "scheme", f"the URL scheme {shown!r} is not http or https")
    if parsed.userinfo:
        raise _refuse(field, "userinfo", "the URL must not contain a user name or password")
    if not parsed.host:
        raise _refuse(field, "bad_url", "the URL has no host name")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise _refuse(field, "bad_url", f"the URL port {parsed.port} is not valid")
    return parsed


def _unparsable(url: str, field: str, exc: Exception) -> UnsafeURLError:
    """httpx rejects some numeric hosts that C resolvers accept (0177.0.0.1): name what they mean."""
    with contextlib.suppress(ValueError):
        ip = _legacy_ipv4(urllib.parse.urlsplit(url).hostname or "")
        if ip is not None and (reason := address_refusal(ip)):
            return _refuse(field, reason, f"the URL points to {_ADDRESS_LABELS[reason]} ({ip})")
    return _refuse(field, "bad_url", f"the URL could not be parsed ({exc})")


def _resolve(host: str, port: int, field: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _refuse(field, "unresolvable", f"the host name {host} could not be resolved") from exc
    addresses = []
    for family, *_, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(ipaddress.ip_address(sockaddr[0]))
    if not addresses:
        raise _refuse(field, "unresolvable", f"the host name {host} has no address")
    return addresses


def _is_allowed_host(host: str) -> bool:
    allowed = {h.strip().lower() for h in settings.OUTBOUND_ALLOWED_HOSTS}
    return host.lower() in allowed


def check_url(url: str, *, field: str) -> ResolvedURL:
    """Check a customer URL and return it with the one address to connect to.

    Raises UnsafeURLError naming `field` when the URL is not http(s), carries
    credentials, cannot be resolved, or when any address of its host is not
    public. Hosts in settings.OUTBOUND_ALLOWED_HOSTS skip the address rules.
    """
    parsed = _parse(url.strip(), field)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal = _ip_literal(host)
    except ValueError as exc:
        raise _refuse(field, "bad_url", f"the URL host {host} is not a valid address") from exc
    addresses = [literal] if literal is not None else _resolve(host, port, field)
    if not _is_allowed_host(host):
        for ip in addresses:
            if reason := address_refusal(ip):
                where = "the URL points to" if literal else f"the URL's host {host} resolves to"
                label = _ADDRESS_LABELS[reason]
                raise _refuse(field, reason, f"{where} {label} ({ip})")
    target = addresses[0]
    if isinstance(target, ipaddress.IPv6Address) and target.scope_id:
        raise _refuse(field, "bad_url", f"the URL host {host} has an IPv6 zone")
    return ResolvedURL(str(parsed), parsed.scheme, host, port, str(target))
