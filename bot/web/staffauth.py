"""Helpdesk staff sessions: an encrypted cookie, CSRF tokens, role checks (the origin check is
``same_origin`` in bot/web/security.py).

The session lives in one cookie, encrypted and authenticated with Fernet (AES-CBC + HMAC-SHA256)
under a key derived from ``KW_COOKIE_SECRET``; there is no server-side session store, so several
gateways (or a restarted one) accept it. The cookie is ``HttpOnly``, ``SameSite=Strict``, limited
to ``/helpdesk`` and ``Secure`` when the request came over HTTPS (or in production).

Every request re-reads the staff account from the database (role, active, password change,
session version), so a deactivated account, a role change, a new password or a logout takes
effect at once: logout raises the account's session version, which every cookie carries, so a
copied cookie stops working too. A session ends after ``KW_STAFF_IDLE_TIMEOUT_S`` (30 min)
without requests or ``KW_STAFF_ABSOLUTE_TIMEOUT_S`` (12 h) after the login, whichever is first.

CSRF: each session carries a random token; every POST must send it (form field ``csrf`` or
header ``X-CSRF-Token``) and, when the browser sends one, an ``Origin`` of the gateway itself.
The login form has its own short-lived pre-session token in a second cookie. The console
WebSocket checks the origin at the handshake and the token in its first frame.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken
from multidict import MultiDict, MultiDictProxy

from bot.handoff.staff import StaffView
from bot.web.security import request_scheme

COOKIE = "kw_helpdesk"
LOGIN_COOKIE = "kw_helpdesk_login"
COOKIE_PATH = "/helpdesk"
LOGIN_FORM_TTL_S = 3600
# The cookie is re-issued (sliding idle timeout) when it is older than this.
RENEW_AFTER_S = 300
MAX_COOKIE_CHARS = 4096

# Request keys
STAFF = web.RequestKey("kw.staff", StaffView)  # the logged-in staff member


def _fernet(secret: str, purpose: str) -> Fernet:
    digest = hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _strip(token: bytes) -> str:
    """Fernet tokens are base64 with padding; without the '=' the cookie needs no quoting."""
    return token.decode("ascii").rstrip("=")


def _pad(value: str) -> bytes:
    return (value + "=" * (-len(value) % 4)).encode("ascii")


def session_stamp(view: StaffView) -> str:
    """Changes when the password changes or the account logs out: old sessions stop working."""
    changed = view.password_changed_at
    return (changed.isoformat(timespec="microseconds") if changed else "") + f"|{view.session_version}"


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    csrf: str
    stamp: str
    login_at: int
    issued_at: int


SESSION = web.RequestKey("kw.staff_session", StaffSession)  # the staff member's session


class SessionCookies:
    def __init__(self, secret: str, idle_s: int, absolute_s: int):
        self._session = _fernet(secret, "kw-helpdesk-session-v1")
        self._login = _fernet(secret, "kw-helpdesk-login-form-v1")
        self.idle_s = idle_s
        self.absolute_s = absolute_s

    # -- the session -------------------------------------------------------------------------

    def issue(self, session: StaffSession) -> str:
        body = json.dumps(
            {"u": session.user_id, "c": session.csrf, "s": session.stamp, "l": session.login_at}, separators=(",", ":")
        )
        return _strip(self._session.encrypt_at_time(body.encode("utf-8"), session.issued_at))

    def new(self, user: StaffView) -> StaffSession:
        now = int(time.time())
        return StaffSession(user.id, secrets.token_urlsafe(32), session_stamp(user), now, now)

    def renew(self, session: StaffSession) -> StaffSession:
        return StaffSession(session.user_id, session.csrf, session.stamp, session.login_at, int(time.time()))

    def parse(self, value: str | None, now: float | None = None) -> StaffSession | None:
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        current = int(time.time() if now is None else now)
        try:
            token = _pad(value)
            raw = self._session.decrypt_at_time(token, self.idle_s, current)
            data = json.loads(raw)
            issued = self._session.extract_timestamp(token)
        except (InvalidToken, ValueError, UnicodeError):
            return None
        if not isinstance(data, dict):
            return None
        uid, csrf, stamp, login = data.get("u"), data.get("c"), data.get("s"), data.get("l")
        if not (isinstance(uid, int) and isinstance(csrf, str) and isinstance(stamp, str) and isinstance(login, int)):
            return None
        if current - login > self.absolute_s or login > current + 60:
            return None
        return StaffSession(uid, csrf, stamp, login, issued)

    # -- the login form's pre-session token --------------------------------------------------

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) for the login form."""
        token = secrets.token_urlsafe(32)
        return _strip(self._login.encrypt(token.encode("ascii"))), token

    def check_login_token(self, cookie: str | None, form_token: Any) -> bool:
        if not cookie or not isinstance(form_token, str) or len(cookie) > MAX_COOKIE_CHARS:
            return False
        try:
            expected = self._login.decrypt(_pad(cookie), ttl=LOGIN_FORM_TTL_S).decode("ascii")
        except (InvalidToken, ValueError, UnicodeError):
            return False
        return hmac.compare_digest(expected.encode("ascii"), form_token.encode("utf-8", "replace"))


def secure_cookies(request: web.Request, settings: Any) -> bool:
    return bool(request_scheme(request) == "https" or getattr(settings, "production", False))


def set_cookie(
    response: web.StreamResponse, request: web.Request, settings: Any, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request, settings),
    )


def clear_cookie(response: web.StreamResponse, request: web.Request, settings: Any, name: str) -> None:
    response.set_cookie(
        name,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request, settings),
    )


#: Console forms are a few fields of text: anything larger is refused before it is read.
MAX_FORM_BYTES = 8 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
_FORM = web.RequestKey("kw.form", MultiDictProxy[str])


class FormRefused(Exception):
    """The body is not a small urlencoded form; ``status`` is 413 or 415."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The console's forms: urlencoded only, at most MAX_FORM_BYTES, checked before the body is
    read (a declared length first, then the bytes as they arrive, for chunked bodies)."""
    if _FORM in request:
        return request[_FORM]
    if request.content_type != FORM_TYPE:
        raise FormRefused(415)
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise FormRefused(413)
    body = await request.content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise FormRefused(413)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(415) from None
    form = MultiDictProxy(MultiDict(pairs))
    request[_FORM] = form
    return form


def csrf_matches(session: StaffSession | None, token: Any) -> bool:
    if session is None or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(session.csrf.encode("ascii"), token.encode("utf-8", "replace"))


def stamp_matches(session: StaffSession, user: StaffView) -> bool:
    return hmac.compare_digest(session.stamp.encode("utf-8"), session_stamp(user).encode("utf-8"))


__all__ = [
    "COOKIE",
    "COOKIE_PATH",
    "LOGIN_COOKIE",
    "MAX_FORM_BYTES",
    "RENEW_AFTER_S",
    "SESSION",
    "STAFF",
    "FormRefused",
    "SessionCookies",
    "StaffSession",
    "clear_cookie",
    "csrf_matches",
    "read_form",
    "secure_cookies",
    "session_stamp",
    "set_cookie",
    "stamp_matches",
]
