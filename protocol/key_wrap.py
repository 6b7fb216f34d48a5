"""A CP's new key as it crosses the wire at each login: **wrapped**, AES-256-GCM under a
key derived (HKDF-SHA256) from the key Central stores for the CP's secret
(``protocol.auth.secret_key``) and that login's challenge nonce, with the CP id and key
id as associated data.  Neither the key nor the secret ever crosses the wire in the
clear.  Pure functions, fixed vectors in the tests; the nonce is passed in.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from protocol.seal import KEY_BYTES, NONCE_BYTES, Key, SealError, associated_data

WRAP_INFO = b"evcharging key wrap v1"


def wrapping_key(stored_key: bytes, challenge: str, cp_id: str) -> bytes:
    """The key that wraps a CP's new key at one login: both ends derive it, Central from
    what it stores for the CP's secret, the monitor from the secret itself."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=challenge.encode(),
                info=WRAP_INFO + b"\x1f" + cp_id.encode()).derive(stored_key)


def wrap(key: Key, wrapping: bytes, cp_id: str, nonce: bytes) -> str:
    """``key`` wrapped for the wire (base64url of nonce + ciphertext)."""
    ct = AESGCM(wrapping).encrypt(nonce, key.secret, associated_data(cp_id, "key", key.key_id))
    return _b64url(nonce + ct)


def unwrap(wrapped: str, key_id: str, wrapping: bytes, cp_id: str) -> Key:
    raw = _unb64url(wrapped)
    if len(raw) != NONCE_BYTES + KEY_BYTES + 16:
        raise SealError("wrapped key has the wrong size")
    try:
        secret = AESGCM(wrapping).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                          associated_data(cp_id, "key", key_id))
    except InvalidTag:
        raise SealError("wrapped key does not open: wrong secret or tampered") from None
    return Key(key_id, secret)


def _b64url(data: bytes) -> str:
    """Unpadded base64url, as a wrapped key is written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealError("wrapped key is not base64url") from None
