"""The rules a message's fields obey, declared once as annotations.

A field says what it holds with ``typing.Annotated``: ``cp_id: CpId`` is
``Annotated[str, Pattern(CP_ID)]``.  The field plan (:mod:`protocol.fields`) reads the
annotations and checks every rule when a message is constructed; :mod:`protocol.schema`
turns the same rules into JSON Schema.  A field typed with a ``StrEnum`` (``engine:
Health``) takes the enum's strings and holds its members; ``Only(...)`` narrows it.
A rule's ``check(name, value)`` returns the value to keep or raises
:class:`~protocol.errors.FormatViolation` naming the field; ``schema()`` is its JSON
Schema keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from protocol.errors import FormatViolation


def whole(pattern: str) -> re.Pattern[str]:
    """A regex the whole string must match, in Python (``match``, ``fullmatch``) and in
    JSON Schema (ECMA-262) alike: ``(?!\\n)$`` is the end, never before a final newline,
    where Python's ``$`` also matches."""
    return re.compile(rf"^(?:{pattern})(?!\n)$")


_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
CP_ID = whole(_ID)
CP_ID_OR_EMPTY = whole(rf"(?:{_ID})?")  # a panel client speaks for the CP it is plugged into
DRIVER_ID = CP_ID
MAX_TEXT = 200  # a location, a reason shown to people
MAX_STRING = 4096  # any string field
MAX_MESSAGE_ID = 64
KEY_ID = whole(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # names a CP's key on the wire
WRAPPED_KEY = whole(r"[A-Za-z0-9_-]{16,128}")  # base64url, unpadded (protocol.seal)
# Amounts (kW, kWh, EUR, EUR/kWh) as ``str(Decimal)`` writes them: finite, not negative
# ("-0" is zero), an exponent of at most three digits (Decimal's arithmetic overflows
# far beyond); no spaces, underscores or non-ASCII digits.
_EXPONENT = r"(?:[eE][+-]?[0-9]{1,3})?"
_NUMBER = rf"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+){_EXPONENT}"
_ZERO = rf"(?:0+(?:\.0*)?|\.0+){_EXPONENT}"
DECIMAL = whole(rf"\+?{_NUMBER}|-{_ZERO}")
# ISO-8601 / RFC 3339 date and time with seconds and a zone (Z or +HH:MM), as
# ``utc_now`` and ``datetime.isoformat`` write them.
TIMESTAMP = whole(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")


# -- enumerated fields beside protocol.states' vocabulary of states ----------------------
class Action(StrEnum):
    """What a ``Command`` from Central asks of a CP."""

    AUTHORIZE = "authorize"
    STOP = "stop"
    RESUME = "resume"
    END_SUPPLY = "end_supply"


class Button(StrEnum):
    """A button of the CP's front panel."""

    FAULT = "fault"
    PLUG = "plug"
    REQUEST = "request"


class RequestSource(StrEnum):
    """Where a request made at the CP came from."""

    BUTTON = "button"
    CARD = "card"
    PANEL = "panel"


class PanelVerb(StrEnum):
    """What a client of the virtual front panel asks of it."""

    PRESS = "press"
    RELEASE = "release"
    STATUS = "status"


class Presence(StrEnum):
    """A CP's retained MQTT status: ``online``, or its last will ``offline``."""

    ONLINE = "online"
    OFFLINE = "offline"


# -- rules -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    """The whole string matches ``regex``."""

    regex: re.Pattern[str]

    def check(self, name: str, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise FormatViolation(f"bad {name} {value!r}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"pattern": self.regex.pattern}


@dataclass(frozen=True)
class Length:
    """At least ``least`` and at most ``most`` characters; ``reason`` may name the field
    as ``{name}``."""

    most: int
    least: int = 0
    reason: str = "{name} too long"

    def check(self, name: str, value: Any) -> Any:
        if not self.least <= len(value) <= self.most:
            raise FormatViolation(self.reason.format(name=name))
        return value

    def schema(self) -> dict[str, Any]:
        return {"minLength": self.least, "maxLength": self.most} if self.least else {
            "maxLength": self.most}


@dataclass(frozen=True)
class DecimalString:
    """A finite, non-negative decimal number written as a string (``"1.234"``)."""

    def check(self, name: str, value: Any) -> Any:
        if value.isascii() and value.replace(".", "", 1).isdigit():  # "1.234": the usual
            return value
        if DECIMAL.fullmatch(value) is None:
            try:
                number = Decimal(value)
            except InvalidOperation:
                number = None
            if number is None or number.is_finite() and number >= 0:
                raise FormatViolation(f"{name} must be a decimal string, not {value!r}")
            raise FormatViolation(f"{name} must be a finite non-negative decimal")
        return value

    def schema(self) -> dict[str, Any]:
        return {"pattern": DECIMAL.pattern}


@dataclass(frozen=True)
class UtcTimestamp:
    """An ISO-8601 date and time with its zone (``2026-11-22T10:00:00.000Z``)."""

    def check(self, name: str, value: Any) -> Any:
        if TIMESTAMP.fullmatch(value) is None:
            raise FormatViolation(f"{name} must be an ISO-8601 UTC timestamp, not {value!r}")
        if value[8:10] > "28":  # the right shape; is there such a day (30 February)?
            try:
                parse_ts(value)
            except ValueError:
                raise FormatViolation(
                    f"{name} must be an ISO-8601 UTC timestamp, not {value!r}") from None
        return value

    def schema(self) -> dict[str, Any]:
        return {"pattern": TIMESTAMP.pattern, "format": "date-time"}


@dataclass(frozen=True)
class Only:
    """Narrows a ``StrEnum`` field to some of its members (``Only(Health.OK, Health.KO)``)."""

    members: tuple[StrEnum, ...]

    def __init__(self, *members: StrEnum) -> None:
        object.__setattr__(self, "members", members)


@dataclass(frozen=True)
class Choice:
    """One of an enum's (allowed) members: the field plan adds it to every field typed with
    a ``StrEnum`` and keeps the member, so a decoded field is the member itself."""

    enum: type[StrEnum]
    allowed: tuple[StrEnum, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_members", {str(m.value): m for m in self.allowed})

    def check(self, name: str, value: Any) -> Any:
        member = self._members.get(value)  # type: ignore[attr-defined]
        if member is None:
            allowed = ", ".join(m.value for m in self.allowed)
            raise FormatViolation(f"{name} must be one of {allowed}, not {str(value)!r}")
        return member

    def schema(self) -> dict[str, Any]:
        return {"enum": [m.value for m in self.allowed]}


@dataclass(frozen=True)
class Requires:
    """A cross-field rule: when ``field`` is one of ``values``, each of ``needs`` must be
    given (neither None nor empty)."""

    field: str
    values: tuple[str, ...]
    needs: tuple[str, ...]

    def check(self, message: Any) -> None:
        value = getattr(message, self.field)
        if value in self.values and not all(getattr(message, n) for n in self.needs):
            raise FormatViolation(f"{value} needs {' and '.join(self.needs)}")

    def schema(self) -> dict[str, Any]:
        given = {"type": "string", "minLength": 1}
        return {"if": {"properties": {self.field: {"enum": list(self.values)}},
                       "required": [self.field]},
                "then": {"required": list(self.needs),
                         "properties": {name: given for name in self.needs}}}


def parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed


# -- the field types messages are declared with ------------------------------------------
CpId = Annotated[str, Pattern(CP_ID)]
DriverId = Annotated[str, Pattern(DRIVER_ID)]
MessageId = Annotated[str, Length(MAX_MESSAGE_ID, 1, "bad message id")]
DecimalStr = Annotated[str, DecimalString()]
Timestamp = Annotated[str, UtcTimestamp()]
Text = Annotated[str, Length(MAX_TEXT)]
KeyId = Annotated[str, Pattern(KEY_ID)]
KeyText = Annotated[str, Pattern(WRAPPED_KEY)]
