"""The locations file (one location a line) and the menu's commands over it.

Pure: :func:`parse` reads the file's text, :func:`render` writes it, :func:`apply` runs
one menu command (add, remove, rename) over the list.  The shell (:class:`LocationsFile`)
reads, notices changes on disk and rewrites the file whole (atomically).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomically

MAX_NAME = 100
MAX_LOCATIONS = 1000


def check_name(name: str) -> str | None:
    """Why ``name`` is not a location name (None when it is one)."""
    if not name:
        return "a location needs a name"
    if len(name) > MAX_NAME:
        return f"a location name is at most {MAX_NAME} characters"
    if not name.isprintable():
        return "a location name has no control characters"
    if name.startswith("#"):
        return "a location name does not start with #"
    return None


def parse(text: str) -> tuple[list[str], list[str]]:
    """The locations in a file's text (blank lines and ``#`` comments skipped, each name
    once, in order) and one problem line per line that is not a location."""
    names: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        name = " ".join(raw.split())
        if not name or name.startswith("#"):
            continue
        why = check_name(name)
        if why:
            problems.append(f"line {number}: {why}")
        elif name not in names:
            names.append(name)
    if len(names) > MAX_LOCATIONS:
        problems.append(f"only the first {MAX_LOCATIONS} locations are watched")
        names = names[:MAX_LOCATIONS]
    return names, problems


def render(names: list[str]) -> str:
    return "".join(name + "\n" for name in names)


@dataclass(frozen=True)
class Command:
    verb: str  # add, remove, rename, list, help, quit
    name: str = ""
    new_name: str = ""


HELP = ("commands: list | add CITY | remove CITY | rename OLD -> NEW | help | quit "
        "(a city may be 'Paris,FR')")


def parse_command(line: str) -> Command | str:
    """A menu line as a :class:`Command`, or a one-line error."""
    words = line.split(maxsplit=1)
    if not words:
        return Command("list")
    verb = {"a": "add", "rm": "remove", "del": "remove", "mv": "rename", "ls": "list",
            "l": "list", "?": "help", "h": "help", "q": "quit", "exit": "quit"}.get(
        words[0].lower(), words[0].lower())
    rest = " ".join(words[1].split()) if len(words) > 1 else ""
    if verb in ("list", "help", "quit"):
        return Command(verb)
    if verb in ("add", "remove"):
        return Command(verb, rest) if rest else f"{verb} what? {HELP}"
    if verb == "rename":
        old, arrow, new = rest.partition("->")
        if not arrow:
            parts = rest.split()
            if len(parts) != 2:
                return "rename OLD -> NEW (or rename OLD NEW for one-word names)"
            old, new = parts
        return Command("rename", old.strip(), new.strip())
    return f"unknown command {words[0]!r}; {HELP}"


def apply(names: list[str], command: Command) -> tuple[list[str], str]:
    """The list after ``command`` and what to tell the person (an error leaves the list
    as it was)."""
    if command.verb == "add":
        why = check_name(command.name)
        if why:
            return names, why
        if command.name in names:
            return names, f"{command.name} is already watched"
        if len(names) >= MAX_LOCATIONS:
            return names, f"at most {MAX_LOCATIONS} locations"
        return [*names, command.name], f"location {command.name} added"
    if command.verb == "remove":
        if command.name not in names:
            return names, f"{command.name} is not watched"
        return [n for n in names if n != command.name], f"location {command.name} removed"
    if command.verb == "rename":
        old, new = command.name, command.new_name
        if old not in names:
            return names, f"{old} is not watched"
        why = check_name(new)
        if why:
            return names, why
        if new in names:
            return names, f"{new} is already watched"
        return [new if n == old else n for n in names], f"location {old} renamed {new}"
    return names, HELP


class LocationsFile:
    """The file on disk; :meth:`changed` tells when someone else rewrote it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._seen: tuple | None = None

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def read(self) -> tuple[list[str], list[str]]:
        """The locations and the problems; OSError or UnicodeDecodeError when unreadable."""
        stamp = self._stamp()
        text = self.path.read_text(encoding="utf-8")
        self._seen = stamp
        return parse(text)

    def changed(self) -> bool:
        stamp = self._stamp()
        return stamp is not None and stamp != self._seen

    def write(self, names: list[str]) -> None:
        write_atomically(self.path, render(names))
        self._seen = self._stamp()
