"""Compatibility fix between the pinned aiohttp 3.9.5 and yarl 1.25.

aiohttp 3.9.5 builds ``request.url`` with ``URL.build(scheme=..., host=request.host)``; recent
yarl refuses a host that carries a port ("127.0.0.1:8080"), so every request whose routing
touches ``request.url`` fails with a 500 -- notably all requests that reach a sub-application
(``/api/v1``) or fall through to it (404s). Later aiohttp versions build the URL from the
*authority* instead; this does the same, for the gateway's application only.
"""
from __future__ import annotations

from aiohttp import web
from aiohttp.helpers import reify
from yarl import URL


def _url_needs_fix() -> bool:
    try:
        URL.build(scheme="http", host="127.0.0.1:1")
    except ValueError:
        return True
    return False


class GatewayRequest(web.Request):
    @reify
    def url(self) -> URL:
        return URL.build(scheme=self.scheme, authority=self.host).join(self.rel_url)


def fix_request_url(app: web.Application) -> None:
    if not _url_needs_fix():
        return
    original = app._make_request

    def make_request(message, payload, protocol, writer, task, _cls=GatewayRequest):
        return original(message, payload, protocol, writer, task, _cls=_cls)

    # object.__setattr__: aiohttp's debug-mode __setattr__ would warn about a custom attribute.
    object.__setattr__(app, "_make_request", make_request)
