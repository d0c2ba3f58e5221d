"""One-time references for verificatiecodes, so no code is ever stored in a conversation.

While the status form asks for the code, the gateway takes the code out of the user's message:
it seals the code here (Fernet, a key derived from the cookie secret) under a random reference
that expires in minutes, sends Rasa a placeholder, and passes the reference as message metadata.
The status action redeems the reference once (read and delete) when it looks the application
up. Rasa's tracker and the helpdesk transcript hold only the placeholder and a spent reference.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select

from bot.core import db
from bot.core.clock import utcnow
from bot.core.extract import CODE_PLACEHOLDER
from bot.status.models import CodeRef

PLACEHOLDER = CODE_PLACEHOLDER
#: The marker (custom ``kw_expect``) of a message that asks for the code: the gateway then
#: takes the code out of the next message (domain.yml's utter_ask_verificatiecode carries it too).
EXPECT = "verificatiecode"
REF_PREFIX = "ref:"
TTL = dt.timedelta(minutes=15)
_REF_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def _fernet(settings: Any) -> Fernet:
    digest = hmac.new(settings.cookie_secret.encode("utf-8"), b"kw-code-ref-v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def put(settings: Any, code: str) -> str:
    """Seal ``code``; returns its reference (also drops expired references)."""
    ref = secrets.token_urlsafe(24)
    now = utcnow()
    sealed = _fernet(settings).encrypt(code.encode("utf-8")).decode("ascii")
    with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
        session.execute(delete(CodeRef).where(CodeRef.expires_at < now))
        session.add(CodeRef(ref=ref, sealed=sealed, expires_at=now + TTL))
    return ref


def take(settings: Any, ref: str | None) -> str | None:
    """The code behind ``ref``, once; None when unknown, spent or expired."""
    if not isinstance(ref, str) or not _REF_RE.match(ref):
        return None
    with db.session_scope(db.get_engine(settings.database_url, settings.db_timeout_s)) as session:
        row = session.execute(select(CodeRef).where(CodeRef.ref == ref)).scalars().first()
        if row is None:
            return None
        session.delete(row)
        if row.expires_at < utcnow():
            return None
        try:
            return _fernet(settings).decrypt(row.sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None
