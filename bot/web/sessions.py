"""Chat sessions without a database: a server-issued, HMAC-signed session token.

The token names the conversation (``sid``, 192 random bits, used as Rasa sender id) and the
identity bound to it when it was made (the verified portal claims, or none). The browser keeps
the token in sessionStorage and presents it when it (re)connects; a token that does not verify
is ignored and a fresh session is issued, so the browser can never choose a sender id or an
identity. Because everything is in the signed token and the history lives in Rasa's tracker, a
restarted gateway (or another gateway behind the load balancer) continues the conversation.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

# How long a session token stays valid after it was (re)issued. Each hello renews it.
SESSION_MAX_AGE_S = 24 * 3600
MAX_SESSION_TOKEN_CHARS = 1024
#: What the widget is told of the portal token (bot/web/portal.py).
PORTAL_STATUSES = ("none", "ok", "expired", "invalid")
SID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


def new_sid() -> str:
    return secrets.token_urlsafe(24)  # 192 bits, 32 characters


@dataclass(frozen=True)
class ChatSession:
    sid: str
    portal: dict[str, str] | None  # verified {"gemeente", "user"}, or None
    portal_status: str  # none | ok | expired | invalid (what the widget should tell the user)
    portal_fp: str  # fingerprint of the portal token the page presented ("" for none)
    issued: int
    portal_exp: int = 0  # the portal token's expiry: the portal scope ends with it

    def portal_expired(self, now: float | None = None) -> bool:
        return self.portal is not None and (time.time() if now is None else now) >= self.portal_exp

    @property
    def log_id(self) -> str:
        """A short, non-reversible id for logs (never the sender id itself)."""
        return hashlib.sha256(self.sid.encode()).hexdigest()[:12]


class SessionCodec:
    def __init__(self, secret: str, max_age_s: int = SESSION_MAX_AGE_S):
        self._key = derive_key(secret, "kw-chat-session-v1")
        self.max_age_s = max_age_s

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def issue(self, session: ChatSession) -> str:
        payload = {
            "sid": session.sid,
            "p": session.portal,
            "ps": session.portal_status,
            "pf": session.portal_fp,
            "iat": session.issued,
            "pe": session.portal_exp,
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"v1.{body}.{self._sign(body)}"

    def new(
        self, portal: dict[str, str] | None, portal_status: str, portal_fp: str, portal_exp: int = 0
    ) -> ChatSession:
        return ChatSession(new_sid(), portal, portal_status, portal_fp, int(time.time()), portal_exp)

    def parse(self, token: object, now: float | None = None) -> ChatSession | None:
        """The session in a token, or None when it is malformed, forged or too old."""
        if not isinstance(token, str) or len(token) > MAX_SESSION_TOKEN_CHARS:
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        _, body, sig = parts
        try:
            if not hmac.compare_digest(self._sign(body), sig):
                return None
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeError):
            return None
        if not isinstance(payload, dict):
            return None
        sid, issued = payload.get("sid"), payload.get("iat")
        if not isinstance(sid, str) or not SID_RE.match(sid) or not isinstance(issued, int):
            return None
        current = time.time() if now is None else now
        if issued > current + 60 or current - issued > self.max_age_s:
            return None
        portal = payload.get("p")
        if portal is not None and not (
            isinstance(portal, dict)
            and set(portal) == {"gemeente", "user"}
            and all(isinstance(v, str) for v in portal.values())
        ):
            return None
        status, fp, portal_exp = payload.get("ps"), payload.get("pf"), payload.get("pe")
        return ChatSession(
            sid,
            portal,
            status if status in PORTAL_STATUSES else "none",
            fp if isinstance(fp, str) else "",
            issued,
            portal_exp if isinstance(portal_exp, int) else 0,
        )

    def renew(self, session: ChatSession, **changes: Any) -> ChatSession:
        """The session, issued now, with ``changes`` (portal_status, portal_fp, portal_exp)."""
        return dataclasses.replace(session, issued=int(time.time()), **changes)


def client_id(secret: str, ip_key: str) -> str:
    """A pseudonymous, keyed hash of the client's address (IPv4, or IPv6 /64; see
    security.rate_key) for rate limits and the status lockout. Nothing the client says about
    itself (User-Agent, headers) goes in: a new User-Agent must not mean a new client."""
    key = derive_key(secret, "kw-client-id-v2")
    digest = hmac.new(key, ip_key.encode("utf-8", "replace"), hashlib.sha256)
    return digest.hexdigest()[:32]
