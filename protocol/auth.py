"""CP authentication: HMAC-SHA256 challenge-response, pure functions.

Central stores ``secret_key(secret).hex()`` for each CP, never the secret itself.
It sends a random nonce; the monitor answers ``proof(secret, nonce, cp_id)``, the
HMAC-SHA256 of ``nonce + cp_id`` keyed with the SHA-256 digest of the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def secret_key(secret: str) -> bytes:
    """The key Central stores (as hex): SHA-256 of the CP's secret."""
    return hashlib.sha256(secret.encode()).digest()


def _mac(key: bytes, nonce: str, cp_id: str) -> str:
    return hmac.new(key, (nonce + cp_id).encode(), hashlib.sha256).hexdigest()


def proof(secret: str, nonce: str, cp_id: str) -> str:
    """What the monitor sends in ``Authenticate.hmac`` to answer ``Challenge(nonce)``."""
    return _mac(secret_key(secret), nonce, cp_id)


def verify(key_hex: str, nonce: str, cp_id: str, proof: str) -> bool:
    """Central's check of a proof against the stored key; False for anything malformed."""
    try:
        key = bytes.fromhex(key_hex)
    except (ValueError, TypeError):
        return False
    if not isinstance(proof, str):
        return False
    return hmac.compare_digest(_mac(key, nonce, cp_id).encode(), proof.encode())


def new_secret() -> str:
    """A CP secret, provisioned once at registration."""
    return secrets.token_urlsafe(24)


def new_nonce() -> str:
    """A fresh challenge for one authentication."""
    return secrets.token_hex(16)


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header of HTTP Basic authentication (an OCPP charger's
    identity and password, security profile 1/2)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
