"""The shell around :class:`~driver_app.session.DriverSession`: Kafka in and out, the
screen, the state dir, the file run and the menu.  One thread; time from ``clock``."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .effects import (
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
from .link import KafkaLink
from .plan import DONE, FileRun
from .session import DriverSession
from .state import StateDir
from .ui import (
    MENU,
    Screen,
    cp_table,
    history_lines,
    progress_text,
    status_lines,
    summary_lines,
    ticket_lines,
)

log = logging.getLogger(__name__)

SAVE_OFFSETS_S = 1.0
EOF_GRACE_S = 11.0  # stdin closed: wait this long at most for answers still due


class App:
    def __init__(self, model: DriverSession, link: KafkaLink, screen: Screen, store: StateDir,
                 run: FileRun | None = None, clock: Callable[[], float] = time.monotonic):
        self.model, self.link, self.screen, self.store, self.run = model, link, screen, store, run
        self.clock = clock
        self._offsets_saved = 0.0
        self._asking_cp = False
        self._closing_at: float | None = None

    # -- effects ----------------------------------------------------------------------
    def execute(self, effects: list) -> None:
        if any(isinstance(e, Remember) for e in effects):
            self.save()  # before the request it describes goes out
        now = self.clock()
        for effect in effects:
            if isinstance(effect, Send):
                self.link.send(effect.message)
                log.info("%s %s%s (id %s)", "sent again" if effect.retry else "sent",
                         effect.message.TYPE, _at(effect.message), effect.message.id)
            elif isinstance(effect, Retrying):
                if effect.cause == "central":
                    log.warning("Central is not answering, retrying")
                else:
                    self.link.report_down()
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
        if self.link.offsets_changed and (force or now - self._offsets_saved >= SAVE_OFFSETS_S):
            self.store.save("offsets", {str(p): o for p, o in self.link.offsets.items()})
            self.link.offsets_changed = False
            self._offsets_saved = now

    # -- the loop ---------------------------------------------------------------------
    def loop(self, stopping: threading.Event, commands: queue.Queue | None = None) -> int:
        if commands is not None:
            self.screen.lines([f"driver {self.model.driver_id}", MENU])
        self.execute(self.model.start(self.clock()))
        while not stopping.is_set():
            updates = self.link.poll(0.1)
            now = self.clock()
            for update in updates:
                self.execute(self.model.receive(update, now))
            for message_id, ok in self.link.deliveries():
                self.execute(self.model.delivered(message_id, ok, now))
            self.execute(self.model.tick(now))
            if self.run is not None and self.model.ready and self._file_step(now):
                break
            if commands is not None and self._commands(commands, now):
                break
            self.save_offsets(now)
        self.save_offsets(self.clock(), force=True)
        self.save()
        return 0

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
        return not self.model.pending or now - self._closing_at > EOF_GRACE_S

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
        if choice == "1":
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


def read_lines(stream, commands: queue.Queue) -> None:
    """Feed stdin's lines into ``commands`` (None at end of input); runs in a thread."""
    for line in iter(stream.readline, ""):
        commands.put(line)
    commands.put(None)
