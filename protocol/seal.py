"""Sealing: what a CP sends to Central, and Central to the CP, under the CP's current key.

Pure functions over ``cryptography``'s AEAD (AES-256-GCM); no I/O, no clock, no
randomness inside (nonces and keys are passed in, so the tests have fixed vectors).

An **envelope** is UTF-8 JSON ``{"v", "cp_id", "key_id", "type", "id", "nonce", "ct"}``
(``nonce`` and ``ct`` in unpadded base64url). The CP id, the message type and the message
id are bound as associated data, so an envelope cannot be moved to another CP, type or id
without failing to open; after opening, the inner message must name the same three.

A CP's **key** (256 bits, with a key id) is issued by Central at each login and sent to
the monitor wrapped (:mod:`protocol.key_wrap`).
"""

from __future__ import annotations

import binascii
import json
import operator
import os
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

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


@dataclass(frozen=True)
class Key:
    """A CP's current key: ``key_id`` names it on the wire, ``secret`` never goes there."""

    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ValueError(f"a key is {KEY_BYTES} bytes")

    def __repr__(self) -> str:  # keys never reach a log line
        return f"Key({self.key_id!r})"

    @cached_property
    def aead(self) -> AESGCM:
        """The key's AES-GCM context, built once (8 of the 35 us an open took) and kept
        as long as the key (not a field: equality, hashing and repr ignore it)."""
        return AESGCM(self.secret)


class Envelope(NamedTuple):
    """An envelope's clear parts (a tuple: built for every message a CP sends)."""

    cp_id: str
    key_id: str
    type: str
    id: str
    nonce: bytes
    ct: bytes
    v: int = VERSION


def new_key(key_id: str) -> Key:
    """A fresh random key (the one place randomness is drawn for keys)."""
    return Key(key_id, AESGCM.generate_key(bit_length=256))


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def associated_data(cp_id: str, kind: str, message_id: str) -> bytes:
    return "\x1f".join((cp_id, kind, message_id)).encode()


def seal(key: Key, cp_id: str, kind: str, message_id: str, plaintext: bytes,
         nonce: bytes) -> bytes:
    """The envelope of ``plaintext`` (a message's wire form) sealed under ``key``: the
    bytes ``json.dumps`` would write for the envelope's object, compact (the test pins
    them), written here without building that object (a third of what sealing took)."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
    ct = key.aead.encrypt(nonce, plaintext, associated_data(cp_id, kind, message_id))
    # 12 bytes are 16 whole base64 characters: nonce and ct encode as one text
    sealed = _b64url(nonce + ct)
    return _prefix(cp_id, key.key_id) + b'%s,"id":%s,"nonce":"%s","ct":"%s"}' % (
        _quote(kind), _quote(message_id), sealed[:16], sealed[16:])


def _prefix(cp_id: str, key_id: str) -> bytes:
    """How every envelope of ``cp_id`` under ``key_id`` begins, up to its type."""
    return b'{"v":%d,"cp_id":%s,"key_id":%s,"type":' % (VERSION, _quote(cp_id), _quote(key_id))


def _quote(text: str) -> bytes:
    """A text as ``json.dumps`` writes it (ASCII, escaped)."""
    return _QUOTE(text).encode()


_QUOTE = json.encoder.encode_basestring_ascii


def parse(data: bytes) -> Envelope:
    """The envelope's clear parts, checked (version, fields, sizes); SealError if not."""
    if len(data) > MAX_ENVELOPE:
        raise SealError(f"envelope larger than {MAX_ENVELOPE} bytes")
    exact = _EXACT.fullmatch(data) if type(data) is bytes else None
    if exact is not None:  # as seal() writes it: no JSON parser needed
        cp_id, key_id, kind, id_, nonce, ct = exact.groups()
        try:
            raw = _nonce_and_ct(nonce, ct)
            return _ENVELOPE(Envelope, (_text(cp_id), _text(key_id), _text(kind), _text(id_),
                                        raw[:NONCE_BYTES], raw[NONCE_BYTES:], VERSION))
        except ValueError:  # not UTF-8, or a ct of impossible length: the checks say which
            pass
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise SealError("not a sealed envelope: invalid JSON") from None
    return _checked(body)


# An envelope exactly as seal() writes it (fields in its order, no space), each text a
# JSON string without escapes or control characters, so its bytes are its UTF-8 text;
# the nonce 16 characters of base64url (12 bytes, no padding), so nonce and ct decode as
# one.  json.loads would give the same values; anything else goes through it.
_TEXT = rb'"([^"\\\x00-\x1f]+)"'
_EXACT = re.compile(rb'\{"v":1,"cp_id":%s,"key_id":%s,"type":%s,"id":%s,'
                    rb'"nonce":"([A-Za-z0-9_-]{16})","ct":"([A-Za-z0-9_-]+)"\}' % ((_TEXT,) * 4))
_ENVELOPE = tuple.__new__  # an Envelope from a tuple, past NamedTuple's generated __new__


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")  # as json.loads decodes UTF-8


def _checked(body: Any) -> Envelope:
    """:func:`parse`'s checks one by one, each with its reason."""
    if not isinstance(body, dict):
        raise SealError("not a sealed envelope: not a JSON object")
    if body.get("v") != VERSION:
        raise SealError(f"unknown envelope version {body.get('v')!r}")
    texts = {}
    for name in ("cp_id", "key_id", "type", "id", "nonce", "ct"):
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > MAX_ENVELOPE:
            raise SealError(f"envelope field {name!r} missing or not text")
        texts[name] = value
    if set(body) - {"v", *texts}:
        raise SealError(f"unknown envelope fields {sorted(set(body) - {'v', *texts})}")
    nonce, ct = unb64url(texts["nonce"], "nonce"), unb64url(texts["ct"], "ct")
    if len(nonce) != NONCE_BYTES:
        raise SealError(f"nonce must be {NONCE_BYTES} bytes")
    return Envelope(texts["cp_id"], texts["key_id"], texts["type"], texts["id"], nonce, ct)


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


class Opener:
    """Opens, quickly, what one CP seals under one key: an envelope whose bytes begin
    exactly as :func:`seal` writes them for that CP and key (so its version, CP id and
    key id need no parsing), the rest cut at its quotes.  The associated data is taken
    from the envelope's bytes as they are; after opening, the message must name the
    envelope's CP, type and id.

    :meth:`open` returns None for anything else (another key, another CP, a malformed
    or tampered envelope, a message that disagrees with its envelope): the caller's
    general path (:func:`open_message`) then opens it or says exactly why not.  Central
    keeps one per CP's current key, for every control-plane frame and every data-plane
    record."""

    __slots__ = ("cp_id", "key", "_prefix", "_ad")

    def __init__(self, cp_id: str, key: Key) -> None:
        self.cp_id, self.key = cp_id, key
        self._prefix = _prefix(cp_id, key.key_id)
        self._ad = cp_id.encode("utf-8", "surrogatepass") + b"\x1f"

    def open(self, inner: Any, payload: bytes) -> Any:
        """The message sealed in ``payload``, decoded by ``inner``; None if it is not
        one this opener takes (see the class)."""
        if type(payload) is not bytes or not payload.startswith(self._prefix):
            return None
        # "TYPE","id":"ID","nonce":"NONCE","ct":"CT"} in 15 pieces (a quote or an escape
        # in TYPE or ID: not as seal() writes it, and does not open with these bytes)
        parts = payload[len(self._prefix):].split(b'"')
        if len(parts) != 15 or _BETWEEN_TEXTS(parts) != _AS_SEALED:
            return None
        kind, id_ = parts[1], parts[5]
        try:
            raw = _nonce_and_ct(parts[9], parts[13])
            plaintext = self.key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                               self._ad + kind + b"\x1f" + id_)
            message = inner.decode(plaintext)
            same = (message.cp_id == self.cp_id and message.TYPE == kind.decode()
                    and message.id == id_.decode())
        except (ValueError, InvalidTag, ProtocolError):
            return None
        return message if same else None


# the pieces of an Opener's part between its texts, as seal() writes them
_BETWEEN_TEXTS = operator.itemgetter(0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14)
_AS_SEALED = (b"", b",", b"id", b":", b",", b"nonce", b":", b",", b"ct", b":", b"}")


def b64url(data: bytes) -> str:
    return _b64url(data).decode()


def _b64url(data: bytes) -> bytes:
    """Unpadded base64url (base64.urlsafe_b64encode without its layers of conversion)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _nonce_and_ct(nonce: bytes, ct: bytes) -> bytes:
    """The nonce and ciphertext of an envelope on a fast path, decoded as one text (the
    nonce's 16 characters are 12 whole bytes).  ValueError if the nonce is not 16
    characters or either is not strictly base64.  (pybase64's SIMD decoder took a
    microsecond less in a loop, but ten more in Central, where the calls come between
    other work.)"""
    if len(nonce) != 16:
        raise ValueError("a nonce is 16 characters")
    return binascii.a2b_base64((nonce + ct + b"=" * (-len(ct) % 4)).translate(_URLSAFE),
                               strict_mode=True)


_URLSAFE = bytes.maketrans(b"-_", b"+/")  # bytes: str.translate is 3 times slower
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def unb64url(text: str, what: str) -> bytes:
    """base64.urlsafe_b64decode (as lenient: characters outside the alphabet are
    skipped), without its layers of conversion."""
    try:
        return binascii.a2b_base64((text + "=" * (-len(text) % 4)).encode("ascii")
                                   .translate(_URLSAFE))
    except (ValueError, TypeError):
        raise SealError(f"{what} is not base64url") from None


class SealingCodec:
    """A link's codec once the CP has a key: seals what it sends with ``key`` and opens
    what it receives, which must be sealed by (and name) ``cp_id`` under that key.
    ``key`` may be replaced (a new login) while the link lives."""

    def __init__(self, inner: Any, cp_id: str, key: Key, nonces=new_nonce) -> None:
        self.inner, self.cp_id, self._nonces = inner, cp_id, nonces
        self.key = key

    @property
    def key(self) -> Key:
        return self._opener.key

    @key.setter
    def key(self, key: Key) -> None:
        self._opener = Opener(self.cp_id, key)

    def encode(self, message: Any) -> bytes:
        return seal(self.key, message.cp_id, message.TYPE, message.id,
                    self.inner.encode(message), self._nonces())

    def decode(self, payload: bytes) -> Any:
        message = self._opener.open(self.inner, payload)
        if message is None:  # not as seal() wrote it for this CP and key: say why
            message = open_message(self.inner, self.cp_id, self.key, payload)
        return message


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
