"""Security at the edge: origin checks, CORS, strict Content-Security-Policy and other headers."""

from __future__ import annotations

import functools
import ipaddress
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core import origins
from bot.web.keys import CSP_NONCE, SETTINGS

# Headers a client could send to look like another client; only a trusted proxy may set them.
MAX_FORWARDED_HOPS = 20


@functools.lru_cache(maxsize=16)
def _networks(items: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(i, strict=False) for i in items)


def _address(value: str) -> Any | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(addr: Any | None, settings: Any) -> bool:
    return addr is not None and any(addr in net for net in _networks(tuple(settings.trusted_proxies)))


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy
    (``KW_TRUSTED_PROXIES``), the right-most X-Forwarded-For hop that is not a trusted proxy.
    What a client writes in those headers itself never counts."""
    settings = request.config_dict[SETTINGS]
    peer = request.remote or ""
    if not _trusted(_address(peer), settings):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        addr = _address(hop)
        if addr is None:
            return peer
        if not _trusted(addr, settings):
            return str(addr)
    return peer


def rate_key(ip: str) -> str:
    """What limits count per client: the IPv4 address, or the IPv6 /64 (one subscriber's
    network: a client can pick any address in it)."""
    addr = _address(ip)
    if addr is None:
        return ip or "onbekend"
    if addr.version == 6:
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def request_scheme(request: web.Request) -> str:
    """http or https as the browser used it: X-Forwarded-Proto counts from a trusted proxy."""
    if _trusted(_address(request.remote or ""), request.config_dict[SETTINGS]):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            return proto
    return request.scheme


@functools.lru_cache(maxsize=16)
def _allowed(items: tuple[str, ...]) -> frozenset[origins.Origin]:
    return frozenset(o for o in map(origins.parse, items) if o is not None)


def own_origin(request: web.Request) -> origins.Origin | None:
    """The gateway's origin as the browser addressed it: the scheme it used (through a trusted
    TLS-terminating proxy: X-Forwarded-Proto) and the Host header, default port filled in."""
    return origins.from_authority(request_scheme(request), request.headers.get("Host", ""))


def is_own_origin(request: web.Request, value: str | None, *, url: bool = False) -> bool:
    """The one same-origin test (console, widget socket, chat API): ``value`` (an Origin
    header, or with ``url`` a Referer) is the gateway itself, compared as (scheme, host, port)."""
    sent = origins.parse(value or "", url=url)
    return sent is not None and sent == own_origin(request)


def same_origin(request: web.Request, *, required: bool = False) -> bool:
    """The console's check: the request's Origin (or, without one, its Referer) is the gateway.

    Browsers send Origin with every POST and WebSocket handshake; ``required`` refuses requests
    that carry neither header (used for the WebSocket)."""
    origin = request.headers.get("Origin")
    if origin:
        return is_own_origin(request, origin)
    referer = request.headers.get("Referer")
    if not referer:
        return not required
    return is_own_origin(request, referer, url=True)


def origin_allowed(request: web.Request, settings: Any) -> bool:
    """The widget's check: the gateway's own pages and the configured embedding sites
    (``KW_ALLOWED_ORIGINS``, exact origins)."""
    origin = origins.parse(request.headers.get("Origin") or "")
    if origin is None:
        return False
    return origin in _allowed(tuple(settings.allowed_origins)) or origin == own_origin(request)


def cors_headers(request: web.Request, settings: Any, preflight: bool = False) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if not origin or not origin_allowed(request, settings):
        return {}
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers.update(
            {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def page_csp(nonce: str) -> str:
    """The policy of the gateway's own HTML pages: as strict as a DigiD site."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


@web.middleware
async def nonce_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[CSP_NONCE] = secrets.token_urlsafe(18)
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: safe defaults for every response (handlers may set their own)."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith("/static/"):
        # The widget is embedded on other sites.
        h.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
        h.setdefault("Cache-Control", "public, max-age=300")
        h.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    else:
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        nonce = request.get(CSP_NONCE) or secrets.token_urlsafe(18)
        h.setdefault("Content-Security-Policy", page_csp(nonce))
        h.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/") or request.path.startswith("/chat/"):
        h.setdefault("Cache-Control", "no-store")
    settings = request.config_dict[SETTINGS]
    if getattr(settings, "production", False) and request_scheme(request) == "https":
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
