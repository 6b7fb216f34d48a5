"""The CP's key at the edge: handed from monitor to engine, used to seal MQTT payloads.

The monitor unwraps each key Central issues (:mod:`protocol.seal`) and gives it to its
engine in a ``KeyIssued`` (the key's 32 bytes in unpadded base64url) over their local
link; the engine keeps it in memory only and seals every data-plane payload with it at
publish time.  Pure functions; a key never reaches a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json

from protocol import messages
from protocol import seal as s


def issued(cp_id: str, key: s.Key) -> messages.KeyIssued:
    """The ``KeyIssued`` that hands ``key`` to the engine."""
    text = base64.urlsafe_b64encode(key.secret).rstrip(b"=").decode()
    return messages.KeyIssued(cp_id=cp_id, key_id=key.key_id, key=text)


def key_of(message: messages.KeyIssued) -> s.Key:
    """The key a ``KeyIssued`` carries; SealError (saying what, never the key) if it is
    not 32 bytes of base64url."""
    try:
        secret = base64.urlsafe_b64decode(message.key + "=" * (-len(message.key) % 4))
    except (binascii.Error, ValueError):
        raise s.SealError(f"key {message.key_id!r} is not base64url") from None
    if len(secret) != s.KEY_BYTES:
        raise s.SealError(f"key {message.key_id!r} is not {s.KEY_BYTES} bytes")
    return s.Key(message.key_id, secret)


def seal_payload(key: s.Key, cp_id: str, payload: bytes, nonce: bytes) -> bytes:
    """The envelope of a data-plane payload (a message's plain wire form, as the outbox
    keeps it): sealed by ``cp_id`` under ``key``, its type and id bound as associated
    data.  ValueError if ``payload`` is not one of this CP's messages."""
    try:
        body = json.loads(payload)
        kind, message_id, sender = body["type"], body["id"], body["cp_id"]
    except (ValueError, TypeError, KeyError):
        raise ValueError("not a message (type, id and cp_id)") from None
    if sender != cp_id:
        raise ValueError(f"a message of {sender!r}, not of {cp_id!r}")
    return s.seal(key, cp_id, kind, message_id, payload, nonce)
