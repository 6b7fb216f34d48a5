"""The shell around :class:`~driver_app.session.DriverSession`: Kafka in and out, the
screen, the state dir, the file run and the menu.  One thread; time from ``clock``.

Until Kafka answers, the loop only waits for it (a live "waiting for Kafka" line on a
terminal) and for ``q``; it never blocks on Kafka, so ``q`` and Ctrl+C end it at once.
Once Kafka answered, state kept against another cluster is dropped (see
:func:`~driver_app.state.same_network`) before anything is read or sent.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .effects import (
    Cause,
    Ended,
    Notice,
    Remember,
    Retrying,
    Send,
    ShowHistory,
    ShowList,
    ShowProgress,
    ShowStatus,
    ShowTicket,
)
from .kafka_client import KafkaClient
from .plan import DONE, FileRun
from .screen import Screen
from .session import DriverSession
from .state import NETWORK, StateDir, describe, network_memory, same_network
from .ui import (
    MENU,
    cp_table,
    history_lines,
    progress_text,
    status_line,
    status_lines,
    summary_lines,
    ticket_lines,
)

log = logging.getLogger(__name__)

SAVE_OFFSETS_S = 1.0
EOF_GRACE_S = 11.0  # stdin closed: wait this long at most for Kafka, then for answers due


class App:
    def __init__(self, model: DriverSession, kafka: KafkaClient, screen: Screen,
                 store: StateDir, run: FileRun | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.model, self.kafka, self.screen, self.store, self.run = model, kafka, screen, store, run
        self.clock = clock
        self._offsets_saved = 0.0
        self._asking_cp = False
        self._closing_at: float | None = None
        self.online = False  # Kafka answered and the partitions are assigned

    # -- effects ----------------------------------------------------------------------
    def execute(self, effects: list) -> None:
        if any(isinstance(e, Remember) for e in effects):
            self.save()  # before the request it describes goes out
        now = self.clock()
        for effect in effects:
            if isinstance(effect, Send):
                self.kafka.send(effect.message)
                log.info("%s %s%s (id %s)", "sent again" if effect.retry else "sent",
                         effect.message.TYPE, _at(effect.message), effect.message.id)
            elif isinstance(effect, Retrying):
                if effect.cause == Cause.CENTRAL:
                    log.warning("Central is not answering, retrying")
                else:
                    self.kafka.report_down()
            elif isinstance(effect, Notice):
                self.screen.line(effect.text)
            elif isinstance(effect, ShowProgress):
                text = progress_text(effect.cp_id, effect.kw, effect.kwh, effect.eur)
                self.screen.progress(effect.session_id, text, now)
            elif isinstance(effect, ShowTicket):
                self.screen.lines(ticket_lines(effect.ticket, effect.late))
            elif isinstance(effect, ShowList):
                self.screen.lines(cp_table(effect.cps))
            elif isinstance(effect, ShowStatus):
                self.screen.lines(status_lines(effect.current, effect.recent))
            elif isinstance(effect, ShowHistory):
                self.screen.lines(history_lines(effect.recent))
            elif isinstance(effect, Ended) and self.run is not None:
                self.run.ended(effect, now)

    def save(self) -> None:
        self.store.save("session", {"session": self.model.memory(),
                                    "file": self.run.memory() if self.run else None})

    def save_offsets(self, now: float, force: bool = False) -> None:
        if self.kafka.offsets_changed and (force or now - self._offsets_saved >= SAVE_OFFSETS_S):
            self.store.save("offsets", {str(p): o for p, o in self.kafka.offsets.items()})
            self.kafka.offsets_changed = False
            self._offsets_saved = now

    # -- the loop ---------------------------------------------------------------------
    def loop(self, stopping: threading.Event, commands: queue.Queue | None = None) -> int:
        if commands is not None:
            self.screen.lines([f"driver {self.model.driver_id}", MENU])
            self.screen.prompt(f"{self.model.driver_id}> ")
        since = self.clock()
        while not stopping.is_set() and not self.screen.closed:
            now = self.clock()
            if not self.online and not self._connect(now):
                self.screen.status(f"waiting for Kafka at {self.kafka.bootstrap}, "
                                   f"{int(now - since)} s")
                if commands is not None and self._commands(commands, now):
                    break
                stopping.wait(0.1)
                continue
            updates = self.kafka.poll(0.1)
            now = self.clock()
            for update in updates:
                self.execute(self.model.receive(update, now))
            for message_id, ok in self.kafka.deliveries():
                self.execute(self.model.delivered(message_id, ok, now))
            self.execute(self.model.tick(now))
            if self.run is not None and self.model.ready and self._file_step(now):
                break
            if commands is not None and self._commands(commands, now):
                break
            self.save_offsets(now)
            self.screen.status(status_line(self.model.following))
        if commands is not None and self.model.following is not None:
            self.screen.line(f"your supply at {self.model.following.cp_id} goes on; "
                             "start ev-driver again to see how it ends")
        self.screen.end()
        self.save_offsets(self.clock(), force=True)
        self.save()
        return 0

    def _connect(self, now: float) -> bool:
        """Kafka answered: claim the state dir for its cluster, assign, ask Central."""
        reached = self.kafka.reached()
        if reached is None:
            return False
        self._claim(reached.cluster_id)
        if not self.kafka.assign():
            return False
        self.online = True
        if self._closing_at is not None:
            self._closing_at = now  # the answers due get their time
        if self.model.following is not None:
            log.info("remembered a supply at %s: asking Central how it went",
                     self.model.following.cp_id)
        self.execute(self.model.start(now))
        return True

    def _claim(self, cluster_id: str | None) -> None:
        """State kept against another Kafka cluster is not this one's: start clean."""
        saved = self.store.load(NETWORK)
        current = network_memory(cluster_id, self.kafka.bootstrap)
        if not same_network(saved, cluster_id, self.kafka.bootstrap):
            log.warning("%s holds the state of another network (%s, now %s): starting clean",
                        self.store.path, describe(saved), describe(current))
            self.model.forget()
            if self.run is not None:
                self.run.forget()
            self.kafka.offsets = {}
            self.store.save("offsets", {})
            self.save()
        if saved != current:
            self.store.save(NETWORK, current)

    def _file_step(self, now: float) -> bool:
        """Request the file's next CP when it is time; True when the file is done."""
        assert self.run is not None
        cp_id = self.run.next_cp(now, self.model.busy)
        if cp_id == DONE:
            self.screen.lines(summary_lines(self.run.summary()))
            self.run = None  # a later run of the same file starts from its top
            return True
        if cp_id is not None:
            self.execute(self.model.charge(cp_id, now))
        return False

    def _commands(self, commands: queue.Queue, now: float) -> bool:
        """Carry out the lines typed so far; True to quit."""
        while True:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._closing_at = now
                continue
            if self.command(line.strip(), now):
                return True
        if self._closing_at is None:
            return False
        if now - self._closing_at > EOF_GRACE_S:
            return True
        return self.online and not self.model.outstanding  # the status on start is due too

    def command(self, text: str, now: float) -> bool:
        """One line of the menu; True to quit."""
        model = self.model
        if self._asking_cp:
            self._asking_cp = False
            if text:
                self.execute(model.charge(text, now))
            return False
        choice, _, rest = text.partition(" ")
        if choice in ("q", "quit", "exit"):
            return True
        if not self.online and choice in ("1", "2", "3", "4", "5"):
            self.screen.line(f"not connected yet: waiting for Kafka at {self.kafka.bootstrap}")
        elif choice == "1":
            self.execute(model.list_cps(now))
        elif choice == "2" and rest.strip():
            self.execute(model.charge(rest.strip(), now))
        elif choice == "2":
            self._asking_cp = True
            self.screen.line("CP id?")
        elif choice == "3":
            self.execute(model.stop(now))
        elif choice == "4":
            self.execute(model.status(now))
        elif choice == "5":
            self.execute(model.history(now))
        elif choice in ("", "?", "h", "m", "help", "menu"):
            self.screen.line(MENU)
        else:
            self.screen.line(f"unknown choice {choice[:20]!r}; ? shows the menu")
        return False


def _at(message: object) -> str:
    cp_id = getattr(message, "cp_id", None)
    return f" for {cp_id}" if cp_id else ""
