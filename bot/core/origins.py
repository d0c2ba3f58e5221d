"""What a web origin is: (scheme, host, port), with the scheme's default port filled in.

A browser leaves the default port out of both the Origin header (``https://kw.example``) and
the Host header (``kw.example``), but a client, a proxy or a setting may write it
(``kw.example:443``). Comparing the written forms made the console refuse its own pages on
port 443 (issue 21, M1). Every origin the gateway compares — the Origin or Referer header,
the Host header with the scheme the browser used, ``KW_ALLOWED_ORIGINS`` — is parsed here into
the same triple, so equal origins compare equal however they were written. Which origins a
request may come from is decided in ``bot/web/security.py``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 3986 authority without user info: a bracketed IPv6 address or a host name (letters,
# digits, dots, hyphens, underscores: browsers send international names as punycode), then an
# optional port (empty means the default, RFC 3986 section 3.2.3).
_AUTHORITY = re.compile(
    r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?)\]|(?P<name>[A-Za-z0-9._-]+))"
    r"(?::(?P<port>[0-9]{0,5}))?"
)
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)


class Origin(NamedTuple):
    scheme: str  # "http" or "https"
    host: str  # lower case; an IPv6 address in its compressed form, without brackets
    port: int  # always explicit: 443 for https://kw.example

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"


def from_authority(scheme: str, authority: str) -> Origin | None:
    """The origin of ``host[:port]`` (a Host header) reached with ``scheme``; None if malformed."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    match = _AUTHORITY.fullmatch(authority or "")
    if match is None:
        return None
    if match["ip6"] is not None:
        try:
            host = str(ipaddress.IPv6Address(match["ip6"]))
        except ValueError:
            return None
    else:
        host = match["name"].lower()
        if host.strip(".") == "":
            return None
    port = int(match["port"]) if match["port"] else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        return None
    return Origin(scheme, host, port)


def parse(text: str, *, url: bool = False) -> Origin | None:
    """The origin of an Origin header or a configured origin (``scheme://host[:port]``, at most a
    trailing ``/``); with ``url``, of any http(s) URL such as a Referer (its path ignored).
    None for anything else, including ``null`` and URLs with user info."""
    match = _URL.fullmatch(text or "")
    if match is None:
        return None
    if not url and match["rest"] not in ("", "/"):
        return None
    return from_authority(match["scheme"], match["authority"])


def is_local(origin: Origin) -> bool:
    """localhost or a loopback address: never an embedding site in production."""
    if origin.host == "localhost" or origin.host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(origin.host.split("%")[0]).is_loopback
    except ValueError:
        return False
