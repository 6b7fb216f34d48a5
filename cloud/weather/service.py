"""The weather office's shell: reads the provider, feeds the core, tells Central.

One thread (the caller's) runs :meth:`WeatherOffice.run`: a round every ``every``
seconds (longer while the provider fails: the core's backoff), the locations file
checked for changes between rounds, and the menu's commands handled as they come.
It kicks the systemd watchdog on every turn.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from runtime import systemd

from . import core
from .central_client import OK, CentralClient, Link, raised_locations
from .locations import LocationsFile

log = logging.getLogger("ev-weather")

SLICE_S = 0.1  # how often the loop looks at the file, the menu and the stop request
WHOLE_PROVIDER = frozenset({core.UNREACHABLE, core.BAD_KEY, core.NO_KEY, core.RATE_LIMITED})


def utc_now() -> datetime:
    return datetime.now(UTC)


class WeatherOffice:
    def __init__(self, provider, central: CentralClient, locations: LocationsFile,
                 names: list[str], every: float, threshold_c: Decimal,
                 stop: threading.Event, *, clock: Callable[[], datetime] = utc_now,
                 watchdog: systemd.Watchdog | None = None,
                 on_round: Callable[[], None] = lambda: None) -> None:
        self.provider, self.central, self.locations = provider, central, locations
        self.names = names
        self.every = every
        self.stop = stop
        self.clock = clock
        self.watchdog = watchdog or systemd.Watchdog()
        self.on_round = on_round
        self.link = Link(central.where)
        self.office = core.Office(threshold_c)
        self.threshold_c = threshold_c
        self.status = ""
        self.status_since = clock()
        self._failed_sends: set[tuple[str, int]] = set()
        self._file_trouble = ""
        self._alerts_known = False
        self.lock = threading.Lock()  # around changes to the office state

    # -- start-up -----------------------------------------------------------------------
    def begin(self) -> None:
        """Ask Central what is raised, so that a restarted office does not resend it."""
        answer = self.central.alerts()
        self._note(answer)
        raised = raised_locations(answer)
        if raised is None and answer.outcome == OK:
            log.warning("Central's GET /api/alerts is not a list of alerts: "
                        "sending every alert's state once")
        self.office = core.start(self.threshold_c, self.names, raised)
        self._alerts_known = raised is not None or answer.outcome == OK
        log.info("watching %d location%s: %s", len(self.names),
                 "" if len(self.names) == 1 else "s", ", ".join(self.names) or "none")

    # -- the loop -----------------------------------------------------------------------
    def run(self, commands: queue.Queue | None = None,
            on_command: Callable[[str], bool] | None = None) -> None:
        due = time.monotonic()
        while not self.stop.is_set():
            if time.monotonic() >= due:
                self.round()
                due = time.monotonic() + core.next_delay(self.office, self.every)
            self.watchdog.kick()
            self.check_file()
            wait = max(0.0, min(SLICE_S, due - time.monotonic()))
            if commands is None or on_command is None:
                self.stop.wait(wait)
                continue
            try:
                line = commands.get(timeout=wait)
            except queue.Empty:
                continue
            if line is None or not on_command(line):
                return  # the end of the menu's input, or quit

    def round(self) -> None:
        if not self._alerts_known:  # Central was away at start-up: ask again
            self._learn_alerts()
        now = self.clock()
        outcomes = self.read_all(now)
        with self.lock:
            self.office, actions = core.observe(self.office, outcomes, now)
        for action in actions:
            self._send(action)
        self._update_status(now)
        report = core.report(self.office, self.status, self.status_since)
        self.watchdog.kick()
        self._note(self.central.put_weather(report), "PUT /api/weather")
        self.on_round()

    def _learn_alerts(self) -> None:
        answer = self.central.alerts()
        self._note(answer)
        raised = raised_locations(answer)
        if raised is not None:
            with self.lock:
                self.office = core.learn(self.office, raised)
        self._alerts_known = answer.outcome == OK

    def read_all(self, now: datetime) -> list[core.Reading | core.Failure]:
        """Every location's reading; once the provider as a whole fails (unreachable, a
        bad key, its rate limit) the rest share that failure without a request, so that
        a provider that hangs costs one timeout a round, not one per location."""
        outcomes: list[core.Reading | core.Failure] = []
        shared: core.Failure | None = None
        for name in list(self.names):
            self.watchdog.kick()
            if shared is not None:
                outcomes.append(core.Failure(name, shared.kind, shared.detail))
                continue
            outcome = self.provider.read(name, now)
            if isinstance(outcome, core.Failure) and outcome.kind in WHOLE_PROVIDER:
                shared = outcome
            outcomes.append(outcome)
        return outcomes

    def _send(self, action: core.Action) -> None:
        self.watchdog.kick()
        answer = self.central.send(action)
        what = f"{'PUT' if isinstance(action, core.Raise) else 'DELETE'} alert {action.location}"
        self._note(answer, what)
        if answer.outcome != OK:
            return  # the core still holds the old belief: sent again next round
        with self.lock:
            self.office = core.sent(self.office, action)
        if isinstance(action, core.Raise):
            log.warning("alert raised for %s: %s C, below %s C", action.location,
                        action.reading.temperature_c, action.threshold_c)
        elif action.reason:
            log.info("alert cleared for %s: %s", action.location, action.reason)
        else:
            watch = self.office.watches.get(action.location)
            temperature = watch.reading.temperature_c if watch and watch.reading else "?"
            log.info("alert cleared for %s: %s C, not below %s C", action.location,
                     temperature, self.threshold_c)

    def _note(self, answer, what: str = "GET /api/alerts") -> None:
        line = self.link.seen(answer)
        if line:
            (log.info if answer.outcome == OK else log.warning)(line)
        if answer.outcome == "failed":
            key = (what, answer.status)
            if key not in self._failed_sends:
                self._failed_sends.add(key)
                log.warning("Central answered %s to %s; retrying", answer.detail, what)
        elif answer.outcome == OK:
            self._failed_sends = {k for k in self._failed_sends if k[0] != what}

    def _update_status(self, now: datetime) -> None:
        text = core.status(self.office)
        if text == self.status:
            return
        before, self.status, self.status_since = self.status, text, now
        if text != "ok":
            log.warning("weather: %s", text)
        elif before:
            log.info("weather: ok (was: %s)", before)
        systemd.status(f"weather: {text}")

    # -- locations ----------------------------------------------------------------------
    def check_file(self) -> None:
        """Pick up the locations file when someone rewrote it."""
        if not self.locations.changed():
            return
        try:
            names, problems = self.locations.read()
        except (OSError, UnicodeDecodeError) as error:
            trouble = f"cannot read {self.locations.path}: {error}"
            if trouble != self._file_trouble:
                self._file_trouble = trouble
                log.warning("%s; keeping the %d locations watched", trouble, len(self.names))
            return
        self._file_trouble = ""
        for problem in problems:
            log.warning("%s: %s", self.locations.path, problem)
        self.watch(names)

    def watch(self, names: list[str]) -> None:
        """Watch ``names`` from now on; one log line per location added or removed."""
        before = self.names
        for name in names:
            if name not in before:
                log.info("location %s added", name)
        for name in before:
            if name not in names:
                log.info("location %s removed", name)
        self.names = list(names)
        with self.lock:
            self.office = core.relocate(self.office, self.names)
