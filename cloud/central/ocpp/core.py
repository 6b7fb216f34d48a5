"""The OCPP decisions that are not about transactions: pure functions, no I/O.

- :func:`report`: a charger's connector statuses (StatusNotification) -> the engine
  health and engine state Central's CP table already knows from framed heartbeats, so an
  OCPP charger shows the same six states and colours.
- :func:`sample`: one MeterValues sample -> the energy register (kWh) and the power (kW),
  by measurand and unit (Energy.Active.Import.Register in Wh unless it says kWh;
  Power.Active.Import in W or kW).
- :func:`number` and :func:`utc`: the two places real chargers are known to break the
  schema (numbers sent as strings or with decimals; times without milliseconds or with
  an offset) are read leniently here; anything else that is malformed is a
  :class:`BadOcpp` (the shell answers it with a FormationViolation CallError).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from protocol.rules import parse_ts
from protocol.states import EngineState, Health

CHARGE_POINT = 0  # connector 0: the charger as a whole
CONNECTOR = 1  # our CPs have one connector: the one remote starts use


class BadOcpp(ValueError):
    """A payload the schema allows but the domain cannot use, or a broken number/time."""


# StatusNotification status -> (engine health, engine state); the same vocabulary as a
# framed monitor's heartbeat (protocol.states).
STATUSES: dict[str, tuple[Health, EngineState]] = {
    "Available": (Health.OK, EngineState.AVAILABLE),
    "Preparing": (Health.OK, EngineState.AVAILABLE),  # plugged, no transaction yet
    "Charging": (Health.OK, EngineState.SUPPLYING),
    "SuspendedEV": (Health.OK, EngineState.SUPPLYING),  # a transaction under way, paused
    "SuspendedEVSE": (Health.OK, EngineState.SUPPLYING),
    "Finishing": (Health.OK, EngineState.AVAILABLE),  # the transaction has stopped
    "Reserved": (Health.OK, EngineState.AVAILABLE),
    "Unavailable": (Health.OK, EngineState.STOPPED),
    "Faulted": (Health.KO, EngineState.BROKEN),
}


@dataclass(frozen=True)
class Report:
    """What a charger's statuses say, in a framed heartbeat's words."""

    engine: Health
    state: EngineState | None
    reason: str = ""


def report(statuses: Mapping[int, tuple[str, str]]) -> Report:
    """The CP's engine health and state from its connectors' last statuses
    (``{connector_id: (status, error text)}``).  A fault anywhere breaks the CP; the
    charger as a whole unavailable stops it; otherwise connector 1 says what it is doing
    (connector 0 when 1 has not reported).  No status yet: healthy, state unknown (a
    charger that talks to us answers, as an engine that answers its health checks)."""
    for connector_id in sorted(statuses):
        status, error = statuses[connector_id]
        if status == "Faulted":
            return Report(Health.KO, EngineState.BROKEN, error or "Faulted")
    whole = statuses.get(CHARGE_POINT, ("", ""))[0]
    if whole == "Unavailable":
        return Report(Health.OK, EngineState.STOPPED)
    status = statuses.get(CONNECTOR, statuses.get(CHARGE_POINT, ("", "")))[0]
    if not status:
        return Report(Health.OK, None)
    return Report(*STATUSES[status])


def fault_text(error_code: str, info: str | None = None,
               vendor_error_code: str | None = None) -> str:
    """A Faulted status's reason as the dashboard says it (``NoError`` is no reason)."""
    parts = [error_code] if error_code and error_code != "NoError" else []
    parts += [text for text in (info, vendor_error_code) if text]
    return ": ".join(parts)[:200]


def number(value: Any, name: str) -> Decimal:
    """A finite number, whether the charger sent it as a JSON number or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BadOcpp(f"{name} must be a number, not {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadOcpp(f"{name} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise BadOcpp(f"{name} must be a finite number, not {value!r}")
    return result


def utc(value: Any, name: str) -> str:
    """An OCPP time (any ISO 8601 form with a zone) as our UTC timestamp with ``Z``."""
    if not isinstance(value, str):
        raise BadOcpp(f"{name} must be an ISO 8601 time, not {value!r}")
    try:
        parsed = parse_ts(value.strip())
    except ValueError:
        raise BadOcpp(f"{name} must be an ISO 8601 time with its zone, not {value!r}") from None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
_SCALE = {ENERGY: {"Wh": Decimal("0.001"), "kWh": Decimal(1)},
          POWER: {"W": Decimal("0.001"), "kW": Decimal(1)}}
_DEFAULT_UNIT = {ENERGY: "Wh", POWER: "W"}


@dataclass(frozen=True)
class Sample:
    """One meter value: when, the energy register (kWh) and the power (kW), if given."""

    timestamp: str
    register_kwh: Decimal | None = None
    kw: Decimal | None = None


def sample(meter_value: Mapping[str, Any]) -> Sample:
    """One element of MeterValues' (or StopTransaction's) ``meterValue`` list.  Values of
    other measurands, per-phase values and signed data are skipped; a value of a known
    measurand in a unit it cannot have is a :class:`BadOcpp`."""
    if not isinstance(meter_value, Mapping):
        raise BadOcpp("a meter value must be an object")
    timestamp = utc(meter_value.get("timestamp"), "meterValue.timestamp")
    found: dict[str, Decimal] = {}
    for value in _sampled(meter_value.get("sampled_value", meter_value.get("sampledValue"))):
        measurand = value.get("measurand") or ENERGY
        if measurand not in _SCALE or value.get("phase") or value.get("format") == "SignedData":
            continue
        unit = value.get("unit") or _DEFAULT_UNIT[measurand]
        scale = _SCALE[measurand].get(unit)
        if scale is None:
            raise BadOcpp(f"{measurand} in {unit!r}: expected one of "
                          f"{', '.join(_SCALE[measurand])}")
        found[measurand] = number(value.get("value"), measurand) * scale
    return Sample(timestamp, found.get(ENERGY), found.get(POWER))


def _sampled(values: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(values, list) or not values:
        raise BadOcpp("a meter value needs a non-empty sampledValue list")
    for value in values:
        if not isinstance(value, Mapping):
            raise BadOcpp("a sampled value must be an object")
        yield value


def latest(meter_values: Any) -> Sample | None:
    """The newest sample with an energy register (by its own timestamp), or None."""
    if not isinstance(meter_values, list):
        raise BadOcpp("meterValue must be a list")
    samples = [s for s in map(sample, meter_values) if s.register_kwh is not None]
    return max(samples, key=lambda s: parse_ts(s.timestamp), default=None)


def begin_and_end(meter_values: Any) -> tuple[Sample | None, Sample | None]:
    """The earliest and the latest register readings of a transaction's data (what an
    unknown StopTransaction can still be billed by)."""
    if not meter_values:
        return None, None
    samples = sorted((s for s in map(sample, meter_values) if s.register_kwh is not None),
                     key=lambda s: parse_ts(s.timestamp))
    return (samples[0], samples[-1]) if samples else (None, None)
