"""Central's end of a CP's sealed link (sans-IO).

After ``Welcome`` both ends of the Central <-> monitor link speak
:class:`protocol.seal.SealingCodec` under the CP's key.  :class:`CpSealing` is that
codec on Central's side: it also says why a frame did not open (a plain frame after
login is "not sealed") and keeps those reasons in order, so the CP server can tell a
key mismatch from any other NAK; once the key is revoked it refuses every frame, while
what was queued before (the sealed ``KeyRevoked``) keeps the bytes it was sealed to.
:func:`wrap_for` is the new key as the ``Welcome`` carries it.  :class:`Contexts` opens
envelopes with an AES-GCM context kept per key (building one is 8 of the 35 us an open
takes); the checks are :func:`protocol.seal.open_message`'s.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol import messages as m
from protocol import seal
from protocol.errors import ProtocolError

REVOKED = "the CP's key was revoked: nothing more is taken on this link"


def wrap_for(stored_secret_key: str, challenge: str, cp_id: str, key: seal.Key) -> str:
    """``key`` wrapped under the key derived from the CP's stored secret key (hex) and
    the nonce of this login's Challenge."""
    wrapping = seal.wrapping_key(bytes.fromhex(stored_secret_key), challenge, cp_id)
    return seal.wrap(key, wrapping, cp_id, seal.new_nonce())


class Contexts:
    """Opens envelopes, keeping the AES-GCM context of the last ``size`` keys it used (a
    key is matched by its id and its bytes).  One thread at a time."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_id: OrderedDict[str, tuple[bytes, AESGCM]] = OrderedDict()

    def open_(self, key: seal.Key, envelope: seal.Envelope) -> bytes:
        """:func:`protocol.seal.open_`, with the key's kept context."""
        if envelope.key_id != key.key_id:
            raise seal.SealError(f"sealed with key {envelope.key_id!r}, not the current one")
        kept = self._by_id.get(key.key_id)
        if kept is None or kept[0] != key.secret:
            kept = self._by_id[key.key_id] = (key.secret, AESGCM(key.secret))
            if len(self._by_id) > self.size:
                self._by_id.popitem(last=False)
        try:
            return kept[1].decrypt(envelope.nonce, envelope.ct, seal.associated_data(
                envelope.cp_id, envelope.type, envelope.id))
        except InvalidTag:
            raise seal.SealError("does not open: tampered, or sealed with another key") from None

    def open_message(self, inner, cp_id: str, key: seal.Key, envelope: seal.Envelope):
        """:func:`protocol.seal.open_message` of an envelope parsed already."""
        if envelope.cp_id != cp_id:
            raise seal.SealError(f"sealed by {envelope.cp_id[:64]!r}, not by {cp_id!r}")
        message = inner.decode(self.open_(key, envelope))
        if (message.cp_id, message.TYPE, message.id) != (envelope.cp_id, envelope.type,
                                                           envelope.id):
            raise seal.SealError("the sealed message does not match its envelope")
        return message


class CpSealing(seal.SealingCodec):
    def __init__(self, cp_id: str, key: seal.Key) -> None:
        super().__init__(m.CONTROL_CODEC, cp_id, key)
        self.revoked = False
        self.problems: deque[str] = deque(maxlen=64)  # why frames did not open, in order
        self._contexts = Contexts(2)

    def decode(self, payload: bytes) -> m.Message:
        if self.revoked:
            return self._refuse(REVOKED)
        try:
            return self._contexts.open_message(self.inner, self.cp_id, self.key,
                                               seal.parse(payload))
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
