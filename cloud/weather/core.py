"""The weather office's decisions: pure, time passed in.

Per location the office keeps the last reading (temperature in C, observed at) or the
error of its last attempt, and what it believes Central holds (alert raised, cleared,
or unknown).  Each round :func:`observe` takes what the provider answered and returns
the new state and the actions for Central: raise below the threshold, clear at or
above it, and nothing at all on missing data (provider down, bad key, unknown city, a
malformed answer).  What Central already holds is not sent again; a failed send leaves
the belief unchanged, so the next round sends it again (:func:`sent`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

FIRST_DELAY_S = 4.0
MAX_DELAY_S = 60.0

# Failure kinds.  PROVIDER_FAILURES are the provider's own trouble (the office backs
# off); an unknown city is one location's trouble and does not slow the others.
UNREACHABLE, BAD_KEY, NO_KEY, RATE_LIMITED, BAD_ANSWER, UNKNOWN_CITY = (
    "unreachable", "bad_key", "no_key", "rate_limited", "bad_answer", "unknown_city")
PROVIDER_FAILURES = frozenset({UNREACHABLE, BAD_KEY, NO_KEY, RATE_LIMITED, BAD_ANSWER})


@dataclass(frozen=True)
class Reading:
    location: str
    temperature_c: Decimal
    observed_at: datetime


@dataclass(frozen=True)
class Failure:
    location: str
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Raise:
    location: str
    reading: Reading
    threshold_c: Decimal


@dataclass(frozen=True)
class Clear:
    location: str
    reason: str = ""  # "" when warm; "no longer watched" for a removed location


Action = Raise | Clear


@dataclass(frozen=True)
class Watch:
    """One watched location."""
    reading: Reading | None = None  # the last good reading
    failure: Failure | None = None  # the last attempt's failure (None after a reading)
    failing_since: datetime | None = None
    alert: bool | None = None  # at Central: True raised, False cleared, None unknown


@dataclass(frozen=True)
class Office:
    threshold_c: Decimal = Decimal("0")
    watches: dict[str, Watch] = field(default_factory=dict)
    orphans: frozenset[str] = frozenset()  # raised at Central, no longer watched
    failed_rounds: int = 0  # consecutive rounds with a provider failure


def start(threshold_c: Decimal, locations: list[str], raised: set[str] | None) -> Office:
    """The office at start-up; ``raised`` is what Central holds (None: not known)."""
    def belief(location: str) -> bool | None:
        return None if raised is None else location in raised

    watches = {name: Watch(alert=belief(name)) for name in locations}
    orphans = frozenset(raised - set(locations)) if raised else frozenset()
    return Office(threshold_c, watches, orphans)


def learn(office: Office, raised: set[str]) -> Office:
    """Central told what it holds (after a start-up that could not ask): locations not
    known yet take that belief, and alerts for locations not watched are cleared."""
    watches = {name: watch if watch.alert is not None else replace(watch, alert=name in raised)
               for name, watch in office.watches.items()}
    return replace(office, watches=watches,
                   orphans=office.orphans | frozenset(raised - set(watches)))


def relocate(office: Office, locations: list[str]) -> Office:
    """The watched locations are now ``locations``: new ones start unknown, removed ones
    whose alert may be raised at Central are cleared there (an operator's decision,
    not missing data)."""
    watches = {name: office.watches.get(name, Watch()) for name in locations}
    dropped = {name for name, watch in office.watches.items()
               if name not in watches and watch.alert is not False}
    orphans = (office.orphans | dropped) - set(watches)
    return replace(office, watches=watches, orphans=frozenset(orphans))


def observe(office: Office, outcomes: list[Reading | Failure],
            now: datetime) -> tuple[Office, list[Action]]:
    """Take one round of provider answers; return the new state and Central's actions."""
    watches = dict(office.watches)
    provider_failed = False
    for outcome in outcomes:
        watch = watches.get(outcome.location)
        if watch is None:
            continue  # removed while it was being read
        if isinstance(outcome, Reading):
            watches[outcome.location] = replace(watch, reading=outcome, failure=None,
                                                failing_since=None)
        else:
            provider_failed |= outcome.kind in PROVIDER_FAILURES
            same = watch.failure is not None and watch.failure.kind == outcome.kind
            since = watch.failing_since if same else now
            watches[outcome.location] = replace(watch, failure=outcome, failing_since=since)
    failed_rounds = office.failed_rounds + 1 if provider_failed else 0
    office = replace(office, watches=watches, failed_rounds=failed_rounds)
    return office, actions(office, {o.location for o in outcomes if isinstance(o, Reading)})


def actions(office: Office, fresh: set[str]) -> list[Action]:
    """What Central must hear: for each location with a fresh reading, an alert that
    differs from what Central holds; and a clear for each orphan."""
    out: list[Action] = []
    for name, watch in office.watches.items():
        if name not in fresh or watch.reading is None:
            continue  # no data this round: never raise or clear
        cold = watch.reading.temperature_c < office.threshold_c
        if cold and watch.alert is not True:
            out.append(Raise(name, watch.reading, office.threshold_c))
        elif not cold and watch.alert is not False:
            out.append(Clear(name))
    out += [Clear(name, "no longer watched") for name in sorted(office.orphans)]
    return out


def sent(office: Office, action: Action) -> Office:
    """Central confirmed ``action``."""
    if action.location in office.orphans and isinstance(action, Clear):
        return replace(office, orphans=office.orphans - {action.location})
    watch = office.watches.get(action.location)
    if watch is None:
        return office
    watches = {**office.watches, action.location: replace(watch, alert=isinstance(action, Raise))}
    return replace(office, watches=watches)


def next_delay(office: Office, every: float) -> float:
    """``every`` after a good round; after provider failures ``every`` doubling each
    failed round, up to :data:`MAX_DELAY_S` (never below ``every``)."""
    if office.failed_rounds <= 1:
        return every
    return max(every, min(MAX_DELAY_S, every * 2 ** (office.failed_rounds - 1)))


# -- what the office says about itself --------------------------------------------------
def problem(failure: Failure, since: datetime | None) -> str:
    """One failure as a person reads it (never a key, never a URL)."""
    at = f" since {since:%H:%M}" if since else ""
    return {
        UNREACHABLE: f"provider unreachable{at}",
        BAD_KEY: "bad API key",
        NO_KEY: "no API key",
        RATE_LIMITED: f"provider rate limit reached{at}",
        UNKNOWN_CITY: f"unknown city {failure.location}",
    }.get(failure.kind, f"bad answer for {failure.location}: {failure.detail}".rstrip(": "))


def status(office: Office) -> str:
    """"ok", or each distinct problem once, "; "-joined."""
    problems: list[str] = []
    for watch in office.watches.values():
        if watch.failure is not None:
            text = problem(watch.failure, watch.failing_since)
            if text not in problems:
                problems.append(text)
    return "; ".join(problems) or "ok"


def report(office: Office, status_text: str, since: datetime) -> dict:
    """The body of ``PUT /api/weather``."""
    def entry(name: str, watch: Watch) -> dict:
        reading = watch.reading
        return {
            "location": name,
            "temperature_c": str(reading.temperature_c) if reading else None,
            "observed_at": iso(reading.observed_at) if reading else None,
            "alert": watch.alert is True,
            "error": problem(watch.failure, watch.failing_since) if watch.failure else None,
        }

    return {"status": status_text, "since": iso(since),
            "locations": [entry(name, watch) for name, watch in office.watches.items()]}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
