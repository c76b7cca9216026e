"""The address a request really comes from, behind trusted reverse proxies.

X-Forwarded-For is a list each proxy appends to: `client, proxy1, proxy2`. Anyone can send the
header with anything in it, so it is believed only when the TCP peer is a configured trusted
proxy, and then read from the right: each trusted proxy vouches for the entry it appended, and
the first entry from the right that is not itself a trusted proxy is the client. Entries to its
left were written by the client and are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from coope.daemon.config import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]
) -> str:
    """The client's address: the TCP `peer`, or what trusted proxies say in X-Forwarded-For
    (`forwarded_for` holds every value of the header, in order)."""
    peer_ip = _parse(peer or "")
    if peer_ip is None:
        return peer or "unknown"
    if not _trusted(peer_ip, trusted):
        return str(peer_ip)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:
            # Not written by a proxy we trust (they write addresses): the peer is all we know.
            break
        if not _trusted(ip, trusted):
            return str(ip)
    else:
        if hops:  # every hop is a trusted proxy: the left-most is as far back as it goes
            return str(_parse(hops[0]))
    return str(peer_ip)


def _trusted(ip: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in trusted)


def _parse(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]:port`, or `v4:port`."""
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
