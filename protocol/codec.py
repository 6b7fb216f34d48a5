"""The base of every CP message and the codec between messages and bytes.

Wire form: UTF-8 JSON ``{"type", "id", "cp_id", "ts", ...fields}``, fields in declared
order.  :func:`encode` writes it; :func:`decode` parses the JSON, looks the type up in a
registry and constructs the message, whose construction checks every field
(:mod:`protocol.fields`), so it raises the same typed
:class:`~protocol.errors.ProtocolError` a peer's bad message gets.

A :class:`Codec` is what a link speaks: ``encode(message) -> bytes`` and
``decode(bytes) -> message``.  :class:`JsonCodec` is the plain one; a link can switch
to another after login (sealing with the per-CP key is a codec too).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from protocol import fields as plan
from protocol.errors import FormatViolation, UnknownMessageType
from protocol.rules import CpId, MessageId, Timestamp


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Message(plan.Checked):
    """A message to, from or within a CP."""

    TYPE: ClassVar[str] = ""
    cp_id: CpId
    id: MessageId = field(default_factory=new_id)
    ts: Timestamp = field(default_factory=utc_now)


def encode(message: Any) -> bytes:
    """The message's wire form (any message type: control, data or driver plane)."""
    body = {"type": message.TYPE}
    values = message.__dict__
    for name in _order(type(message)):
        body[name] = values[name]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@functools.cache
def _order(cls: type) -> tuple[str, ...]:
    return tuple(spec.name for spec in plan.specs(cls))


def decode(payload: bytes, types: Mapping[str, type]) -> Any:
    """Parse one message of one of ``types`` (its registry: type name -> class)."""
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatViolation(f"invalid JSON: {error}") from None
    if not isinstance(body, dict):
        raise FormatViolation("message must be a JSON object")
    kind = body.pop("type", None)
    if not isinstance(kind, str):
        raise FormatViolation("message has no type")
    cls = types.get(kind)
    if cls is None:
        raise UnknownMessageType(f"unknown message type {kind[:40]!r}")
    return build(cls, body)


def build(cls: type, body: dict[str, Any]) -> Any:
    """Construct a message of ``cls`` from a parsed body; raises FormatViolation."""
    known, required = plan.names(cls)
    if not known.issuperset(body):
        raise FormatViolation(f"{cls.TYPE}: unknown fields {sorted(set(body) - known)}")
    for name in required:
        if name not in body:
            raise FormatViolation(f"{cls.TYPE}: missing field {name!r}")
    return cls(**body)


class Codec(Protocol):
    """What a link speaks: messages to bytes and back."""

    def encode(self, message: Any) -> bytes: ...

    def decode(self, payload: bytes) -> Any: ...


@dataclass(frozen=True)
class JsonCodec:
    """Plain JSON messages of the types in ``types``."""

    types: Mapping[str, type]

    def encode(self, message: Any) -> bytes:
        return encode(message)

    def decode(self, payload: bytes) -> Any:
        return decode(payload, self.types)
