"""Central's end of a CP's sealed link (sans-IO).

After ``Welcome`` both ends of the Central <-> monitor link speak
:class:`protocol.seal.SealingCodec` under the CP's key.  :class:`CpSealing` is that
codec on Central's side: it also says why a frame did not open (a plain frame after
login is "not sealed") and keeps those reasons in order, so the CP server can tell a
key mismatch from any other NAK; once the key is revoked it refuses every frame, while
what was queued before (the sealed ``KeyRevoked``) keeps the bytes it was sealed to.
:func:`wrap_for` is the new key as the ``Welcome`` carries it.
"""

from __future__ import annotations

from collections import deque

from protocol import key_wrap, seal
from protocol import messages as m
from protocol.errors import ProtocolError

REVOKED = "the CP's key was revoked: nothing more is taken on this link"


def wrap_for(stored_secret_key: str, challenge: str, cp_id: str, key: seal.Key) -> str:
    """``key`` wrapped under the key derived from the CP's stored secret key (hex) and
    the nonce of this login's Challenge."""
    wrapping = key_wrap.wrapping_key(bytes.fromhex(stored_secret_key), challenge, cp_id)
    return key_wrap.wrap(key, wrapping, cp_id, seal.new_nonce())


class CpSealing(seal.SealingCodec):
    def __init__(self, cp_id: str, key: seal.Key) -> None:
        super().__init__(m.CONTROL_CODEC, cp_id, key)
        self.revoked = False
        self.problems: deque[str] = deque(maxlen=64)  # why frames did not open, in order

    def decode(self, payload: bytes) -> m.Message:
        if self.revoked:
            return self._refuse(REVOKED)
        try:
            return super().decode(payload)
        except seal.SealError as error:
            return self._refuse(_why(payload, error))

    def _refuse(self, reason: str):
        self.problems.append(reason)
        raise seal.SealError(reason)

    def take_problem(self, reason: str) -> bool:
        """True (and forgotten) if the NAK with ``reason`` was a frame that did not open."""
        if self.problems and self.problems[0] == reason:
            self.problems.popleft()
            return True
        return False


def _why(payload: bytes, error: seal.SealError) -> str:
    """The reason a frame did not open; a plain message says so."""
    try:
        message = m.CONTROL_CODEC.decode(payload)
    except ProtocolError:
        return str(error)
    return f"{message.TYPE} not sealed (a plain frame after login)"
