"""The identity the gateway passes to Rasa with every message, signed, and its check in the
actions.

The gateway is the trust boundary (DESIGN.md): it verifies portal tokens and knows the client's
address. It puts the client id and the portal scope into the message's metadata with an HMAC
over (sender, client id, portal scope) under ``KW_IDENTITY_KEY``. The actions believe that
metadata only when the signature verifies for the conversation it arrived in: a local process
that posts to Rasa with a forged ``metadata.portal`` or client id (or replays a signed one in
another conversation) gets the public website's treatment, and all such posts share one
client id (``UNVERIFIED_CLIENT``), so they cannot escape the per-address lockout either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The metadata field that carries the signature.
SIGNATURE_FIELD = "kw_sig"
#: The client id of every message whose identity did not verify (one shared lockout bucket).
UNVERIFIED_CLIENT = "niet-geverifieerd"


@dataclass(frozen=True)
class Identity:
    client_id: str | None
    #: The verified portal scope (at least ``gemeente``), or None on the public website.
    portal: Mapping[str, Any] | None


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), b"kw-identity-metadata-v1", hashlib.sha256).digest()


def _message(sender: str, client_id: str | None, portal: Mapping[str, Any] | None) -> bytes:
    return json.dumps(
        [sender, client_id or "", dict(portal) if portal else None],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")


def sign(secret: str, sender: str, client_id: str | None, portal: Mapping[str, Any] | None) -> str:
    return hmac.new(_key(secret), _message(sender, client_id, portal), hashlib.sha256).hexdigest()


def signed_metadata(
    secret: str, sender: str, client_id: str | None, portal: Mapping[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    """Metadata for one message: client id, portal scope (when any), signature, and ``extra``
    (message id, code reference: not identity)."""
    metadata = dict(extra, client_id=client_id)
    if portal:
        metadata["portal"] = dict(portal)
    metadata[SIGNATURE_FIELD] = sign(secret, sender, client_id, portal)
    return metadata


def verified(secret: str, sender: str, metadata: Any) -> Identity:
    """The identity in ``metadata`` when its signature verifies for ``sender``; otherwise the
    unverified client on the public website."""
    if not isinstance(metadata, Mapping) or not secret:
        return Identity(UNVERIFIED_CLIENT, None)
    signature = metadata.get(SIGNATURE_FIELD)
    client_id = metadata.get("client_id")
    portal = metadata.get("portal")
    if (
        not isinstance(signature, str)
        or not isinstance(client_id, (str, type(None)))
        or not isinstance(portal, (Mapping, type(None)))
    ):
        return Identity(UNVERIFIED_CLIENT, None)
    try:
        expected = sign(secret, sender, client_id, portal)
    except (TypeError, ValueError):  # a portal scope that is not plain JSON
        return Identity(UNVERIFIED_CLIENT, None)
    if not hmac.compare_digest(expected, signature):
        return Identity(UNVERIFIED_CLIENT, None)
    return Identity(client_id, portal or None)
