"""Sealing: what a CP sends to Central, and Central to the CP, under the CP's current key.

Pure functions over ``cryptography``'s AEAD (AES-256-GCM); no I/O, no clock, no
randomness inside (nonces and keys are passed in, so the tests have fixed vectors).

An **envelope** is compact UTF-8 JSON ``{"v", "cp_id", "key_id", "type", "id", "nonce",
"ct"}`` (``nonce`` and ``ct`` in standard, padded base64), read and written by ``msgspec``
in one C call each way: its parser checks the fields' names, types and sizes and decodes
the base64 as it goes, so what sealing adds to a message is that call and AES-GCM.  The
CP id, the message type and the message id are bound as associated data, so an envelope
cannot be moved to another CP, type or id without failing to open; after opening, the
inner message must name the same three.

A CP's **key** (256 bits, with a key id) is issued by Central at each login and sent to
the monitor wrapped (:mod:`protocol.key_wrap`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol.errors import ProtocolError

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
MAX_ENVELOPE = 64 * 1024


class SealError(ProtocolError):
    """An envelope that is malformed or does not open: the reason, never a key.  A link
    refuses such a frame (NAK) like any other bad input."""


@dataclass(frozen=True, slots=True)
class Key:
    """A CP's current key: ``key_id`` names it on the wire, ``secret`` never goes there.
    ``aead`` is its AES-GCM context, built with the key (8 of the 35 us an open took
    when it was built per message) and kept as long as the key; equality, hashing and
    repr ignore it.  Slots: Central reads a key per message, one object less to reach."""

    key_id: str
    secret: bytes
    aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ValueError(f"a key is {KEY_BYTES} bytes")
        object.__setattr__(self, "aead", AESGCM(self.secret))

    def __repr__(self) -> str:  # keys never reach a log line
        return f"Key({self.key_id!r})"


Text = Annotated[str, msgspec.Meta(min_length=1)]


class Envelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
               gc=False):
    """An envelope's clear parts, in their order on the wire (texts and bytes only: no
    cycle, so the garbage collector need not track it)."""

    v: int
    cp_id: Text
    key_id: Text
    type: Text
    id: Text
    nonce: Annotated[bytes, msgspec.Meta(min_length=NONCE_BYTES, max_length=NONCE_BYTES)]
    ct: bytes


class _Versioned(msgspec.Struct):
    """Only an object's version, when it is no envelope of this one."""

    v: Any = None


_READ = msgspec.json.Decoder(Envelope)
_VERSION = msgspec.json.Decoder(_Versioned)
_WRITE = msgspec.json.Encoder()


def new_key(key_id: str) -> Key:
    """A fresh random key (the one place randomness is drawn for keys)."""
    return Key(key_id, AESGCM.generate_key(bit_length=256))


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def associated_data(cp_id: str, kind: str, message_id: str) -> bytes:
    return "\x1f".join((cp_id, kind, message_id)).encode()


def seal(key: Key, cp_id: str, kind: str, message_id: str, plaintext: bytes,
         nonce: bytes) -> bytes:
    """The envelope of ``plaintext`` (a message's wire form) sealed under ``key``."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
    ct = key.aead.encrypt(nonce, plaintext, associated_data(cp_id, kind, message_id))
    return _WRITE.encode(Envelope(v=VERSION, cp_id=cp_id, key_id=key.key_id, type=kind,
                                  id=message_id, nonce=nonce, ct=ct))


def parse(data: bytes) -> Envelope:
    """The envelope's clear parts, checked (version, fields, sizes); SealError if not."""
    if len(data) > MAX_ENVELOPE:
        raise SealError(f"envelope larger than {MAX_ENVELOPE} bytes")
    try:
        envelope = _READ.decode(data)
    except msgspec.ValidationError as error:
        version = _version(data)
        if version not in (None, VERSION):
            raise SealError(f"unknown envelope version {repr(version)[:20]}") from None
        raise SealError(f"not a sealed envelope: {error}") from None
    except msgspec.DecodeError as error:  # malformed, truncated, or not UTF-8
        raise SealError(f"not a sealed envelope: invalid JSON ({error})") from None
    if envelope.v != VERSION:
        raise SealError(f"unknown envelope version {envelope.v}")
    return envelope


def _version(data: bytes) -> Any:
    """The ``v`` of a JSON object that is no envelope (a later version's?), else None."""
    try:
        return _VERSION.decode(data).v
    except msgspec.ValidationError:
        return None


def open_(key: Key, envelope: Envelope) -> bytes:
    """The plaintext of ``envelope``; SealError if ``key`` is not the one it names or it
    does not open (tampered, or sealed for another CP, type, id or key)."""
    if envelope.key_id != key.key_id:
        raise SealError(f"sealed with key {envelope.key_id!r}, not the current one")
    try:
        return key.aead.decrypt(
            envelope.nonce, envelope.ct,
            associated_data(envelope.cp_id, envelope.type, envelope.id))
    except InvalidTag:
        raise SealError("does not open: tampered, or sealed with another key") from None


class SealingCodec:
    """A link's codec once the CP has a key: seals what it sends with ``key`` and opens
    what it receives, which must be sealed by (and name) ``cp_id`` under that key.
    ``key`` may be replaced (a new login) while the link lives."""

    def __init__(self, inner: Any, cp_id: str, key: Key, nonces=new_nonce) -> None:
        self.inner, self.cp_id, self.key, self._nonces = inner, cp_id, key, nonces

    def encode(self, message: Any) -> bytes:
        return seal(self.key, message.cp_id, message.TYPE, message.id,
                    self.inner.encode(message), self._nonces())

    def decode(self, payload: bytes) -> Any:
        return open_message(self.inner, self.cp_id, self.key, payload)


def open_message(inner: Any, cp_id: str, key: Key, payload: bytes) -> Any:
    """The message sealed in ``payload`` by ``cp_id`` under ``key``, decoded by ``inner``;
    SealError (or the decoder's ProtocolError) if it is not exactly that."""
    return open_envelope(inner, cp_id, key, parse(payload))


def open_envelope(inner: Any, cp_id: str, key: Key, envelope: Envelope) -> Any:
    """:func:`open_message` of an envelope parsed already."""
    if envelope.cp_id != cp_id:
        raise SealError(f"sealed by {envelope.cp_id[:64]!r}, not by {cp_id!r}")
    message = inner.decode(open_(key, envelope))
    if (message.cp_id, message.TYPE, message.id) != (envelope.cp_id, envelope.type,
                                                       envelope.id):
        raise SealError("the sealed message does not match its envelope")
    return message


def summary(data: Any) -> str:
    """What a dead letter or an audit record may say about an envelope: its clear parts."""
    try:
        envelope = parse(data)
    except SealError as error:
        return str(error)
    return f"{envelope.type} {envelope.id} from {envelope.cp_id} under key {envelope.key_id}"
