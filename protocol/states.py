"""One vocabulary of states, defined once for the engine, the monitor, Central, the store
and the driver app.  A ``StrEnum`` member is its string, so the wire format, the store's
rows and the REST API read and write exactly what they did as plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class EngineState(StrEnum):
    """What the engine is doing, as it reports it."""

    AVAILABLE = "available"
    AUTHORIZED = "authorized"
    SUPPLYING = "supplying"
    STOPPED = "stopped"
    BROKEN = "broken"


class Health(StrEnum):
    """The engine's health as its monitor sees it: answering OK, answering KO (or not
    answering in time), or no link at all."""

    OK = "OK"
    KO = "KO"
    DOWN = "DOWN"


class CpState(StrEnum):
    """A CP as Central shows it, in order of precedence (ARCHITECTURE.md section 5)."""

    DISCONNECTED = "DISCONNECTED"
    BROKEN = "BROKEN"
    STOPPED = "STOPPED"
    SUPPLYING = "SUPPLYING"
    AUTHORIZED = "AUTHORIZED"
    ACTIVATED = "ACTIVATED"


class SessionStatus(StrEnum):
    """A supply (a session) in Central's store."""

    AUTHORIZED = "authorized"
    SUPPLYING = "supplying"
    ENDED = "ended"
    EXPIRED = "expired"
    DENIED = "denied"


class DriverPhase(StrEnum):
    """Where the supply a driver's app follows has got to."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    AUTHORIZED = "authorized"
    SUPPLYING = "supplying"
