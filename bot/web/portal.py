"""Portal identity: the applicants' portal embeds the widget with a short-lived signed token.

The token is a JWT signed with the shared secret ``settings.portal_jwt_secret`` (HS256), or,
when a public key is configured (``settings.portal_jwt_public_key``, KW_PORTAL_JWT_PUBLIC_KEY), with the
portal's private key (RS256/ES256). The gateway checks signature, expiry, audience and issuer and
requires the claims ``sub`` (the portal user) and ``gemeente``. Only then does it pass
``{"gemeente": ..., "user": ...}`` to Rasa as ``metadata["portal"]``.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.types import Options

# Maximum accepted token length (a JWT with two claims is a few hundred characters).
MAX_TOKEN_CHARS = 4096
# Clock skew tolerated between portal and gateway.
LEEWAY_S = 10
# A portal token that claims to live longer than this is refused: they must be short-lived.
MAX_LIFETIME_S = 24 * 3600
# Lifetime of the tokens the demo page mints (only outside production).
DEMO_TOKEN_LIFETIME_S = 15 * 60

_CLAIM_RE = re.compile(r"^[\w .'()/@+-]{1,100}$", re.UNICODE)

OK = "ok"
EXPIRED = "expired"
INVALID = "invalid"
NONE = "none"


@dataclass(frozen=True)
class PortalCheck:
    status: str  # ok | expired | invalid
    identity: dict[str, str] | None = None  # {"gemeente", "user"} when ok
    reason: str = ""  # for logs only, never shown to the user
    expires: int = 0  # the token's exp: the portal scope of a chat session ends with it


def public_key(settings: Any) -> str:
    """The portal's public key (KW_PORTAL_JWT_PUBLIC_KEY, PEM) for RS256/ES256 tokens, or "": the
    shared secret signs them."""
    return getattr(settings, "portal_jwt_public_key", "")


def token_fingerprint(token: str | None) -> str:
    """A short hash of a token, to notice that the page now carries another token."""
    if not token:
        return ""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:24]


def verify_portal_token(token: Any, settings: Any) -> PortalCheck:
    """Check a portal token; never raises."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return PortalCheck(INVALID, reason="malformed")
    key = public_key(settings)
    if key:
        verify_key, algorithms = key, ["RS256", "ES256"]
    else:
        verify_key, algorithms = settings.portal_jwt_secret, ["HS256"]
    options: Options = {"require": ["exp", "iat", "sub", "aud", "iss"]}
    try:
        claims = jwt.decode(
            token,
            verify_key,
            algorithms=algorithms,
            audience=settings.portal_jwt_audience,
            issuer=settings.portal_jwt_issuer,
            leeway=LEEWAY_S,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        return PortalCheck(EXPIRED, reason="expired")
    except jwt.InvalidTokenError as exc:
        return PortalCheck(INVALID, reason=type(exc).__name__)
    except Exception as exc:  # e.g. a malformed key: treat the token as invalid
        return PortalCheck(INVALID, reason=type(exc).__name__)
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or float(claims["exp"]) - float(iat) > MAX_LIFETIME_S:
        return PortalCheck(INVALID, reason="lifetime")
    user, gemeente = claims.get("sub"), claims.get("gemeente")
    if not (isinstance(user, str) and _CLAIM_RE.match(user)):
        return PortalCheck(INVALID, reason="sub")
    if not (isinstance(gemeente, str) and _CLAIM_RE.match(gemeente)):
        return PortalCheck(INVALID, reason="gemeente")
    return PortalCheck(OK, {"gemeente": gemeente.strip(), "user": user.strip()}, expires=int(claims["exp"]))


def issue_portal_token(
    settings: Any,
    gemeente: str,
    user: str,
    lifetime_s: int = DEMO_TOKEN_LIFETIME_S,
    now: float | None = None,
    secret: str | None = None,
) -> str:
    """A portal token as the portal would make it (demo page and tests; HS256)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": user,
        "gemeente": gemeente,
        "aud": settings.portal_jwt_audience,
        "iss": settings.portal_jwt_issuer,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    return jwt.encode(claims, secret if secret is not None else settings.portal_jwt_secret, algorithm="HS256")
