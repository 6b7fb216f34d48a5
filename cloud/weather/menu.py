"""The terminal menu: add, remove, rename and list locations while the office runs.

Only when stdin and stdout are a terminal.  It reuses the driver app's screen and
keyboard (:mod:`driver_app.screen`, :mod:`driver_app.keyboard`): a live status line
and a prompt at the bottom, log lines printed above them, the person's typing never
torn by a log line.  Each change rewrites the locations file (atomically) and takes
effect at once, without a restart.
"""

from __future__ import annotations

from driver_app.screen import Screen

from . import core
from .locations import HELP, Command, apply, parse_command
from .service import WeatherOffice

PROMPT = "weather> "


def table(office: core.Office) -> list[str]:
    """The watched locations with their temperature and alert state."""
    if not office.watches:
        return ["no locations watched (add CITY)"]
    width = max(len(name) for name in office.watches)
    lines = []
    for name, watch in office.watches.items():
        temperature = (f"{watch.reading.temperature_c} C" if watch.reading else "-")
        alert = {True: "ALERT", False: "no alert", None: "alert unknown"}[watch.alert]
        error = (f"  ({core.problem(watch.failure, watch.failing_since)})"
                 if watch.failure else "")
        lines.append(f"{name:<{width}}  {temperature:>9}  {alert}{error}")
    return lines


def status_line(office: core.Office, status: str) -> str:
    alerts = sum(1 for watch in office.watches.values() if watch.alert)
    count = len(office.watches)
    return (f"weather: {status} | {count} location{'' if count == 1 else 's'}, "
            f"{alerts} alert{'' if alerts == 1 else 's'} | type help")


class Menu:
    def __init__(self, office: WeatherOffice, screen: Screen) -> None:
        self.office, self.screen = office, screen

    def begin(self) -> None:
        self.screen.prompt(PROMPT)
        self.refresh()

    def refresh(self, *_: object) -> None:
        self.screen.status(status_line(self.office.office, self.office.status or "starting"))

    def handle(self, line: str) -> bool:
        """One line typed; False to quit."""
        command = parse_command(line)
        if isinstance(command, str):
            self.screen.line(command)
        elif command.verb == "quit":
            return False
        elif command.verb == "list":
            with self.office.lock:
                self.screen.lines(table(self.office.office))
        elif command.verb == "help":
            self.screen.line(HELP)
        else:
            self.change(command)
        self.refresh()
        return True

    def change(self, command: Command) -> None:
        names, message = apply(self.office.names, command)
        if names == self.office.names:
            self.screen.line(message)
            return
        try:
            self.office.locations.write(names)
        except OSError as error:
            self.screen.line(f"cannot write {self.office.locations.path}: "
                             f"{error.strerror or error}; nothing changed")
            return
        self.office.watch(names)  # logs the location added / removed
