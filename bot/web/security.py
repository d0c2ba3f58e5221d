"""Security at the edge: origin checks, CORS, strict Content-Security-Policy and other headers."""
from __future__ import annotations

import secrets
from typing import Any, Dict

from aiohttp import web
from yarl import URL

from bot.web.keys import CSP_NONCE

# Trust X-Forwarded-For from these proxy addresses (comma-separated in the proposed setting
# KW_TRUSTED_PROXIES); by default the peer address is the client.
TRUSTED_PROXIES: tuple = ()


def client_ip(request: web.Request) -> str:
    peer = request.remote or ""
    if peer in TRUSTED_PROXIES:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return peer


def _normal(origin: str) -> str:
    try:
        url = URL(origin)
    except ValueError:
        return ""
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        return ""
    return str(url.origin()).lower()


def origin_allowed(request: web.Request, settings: Any) -> bool:
    """True for the gateway's own pages and the configured embedding sites (exact origins)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    normal = _normal(origin)
    if not normal:
        return False
    if normal in {_normal(o) for o in settings.allowed_origins}:
        return True
    # Same origin as the page the gateway serves itself (the Host header, as the browser sent it).
    try:
        own = URL(origin)
        return own.authority.lower() == request.host.lower()
    except ValueError:
        return False


def cors_headers(request: web.Request, settings: Any, preflight: bool = False) -> Dict[str, str]:
    origin = request.headers.get("Origin")
    if not origin or not origin_allowed(request, settings):
        return {}
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers.update({
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        })
    return headers


def page_csp(nonce: str) -> str:
    """The policy of the gateway's own HTML pages: as strict as a DigiD site."""
    return "; ".join([
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
    ])


@web.middleware
async def nonce_middleware(request: web.Request, handler):
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
    if request.secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
