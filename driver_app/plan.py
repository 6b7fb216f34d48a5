"""File mode: one supply per CP id in the file, a pause after each one ends.

Pure: :meth:`FileRun.next_cp` is asked with ``now`` whether to request the next CP;
:meth:`FileRun.ended` is told when one ended.  ``memory`` (the file's CP ids and
the index of the next one) lets a restarted app carry on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from protocol.messages import CP_ID

from .effects import Ended, Outcome

DONE = "done"


def read_cp_ids(text: str) -> list[str]:
    """One CP id per line; blank lines and ``#`` comments ignored.  ValueError if bad."""
    cps = []
    for number, line in enumerate(text.splitlines(), 1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        if not CP_ID.match(word):
            raise ValueError(f"line {number}: {word[:40]!r} is not a CP id")
        cps.append(word)
    if not cps:
        raise ValueError("no CP ids in it")
    return cps


@dataclass(frozen=True)
class Summary:
    supplies: int  # asked for; the completed ones ended with a ticket
    completed: int
    failed: int
    kwh: Decimal
    eur: Decimal


class FileRun:
    def __init__(self, cps: list[str], wait_s: float, memory: dict[str, Any] | None = None):
        self.cps, self.wait_s = list(cps), wait_s
        resumed = memory and memory.get("cps") == self.cps
        self.index = int(memory.get("next", 0)) if resumed else 0
        self.results: list[Ended] = []
        self._wait_until: float | None = None

    def memory(self) -> dict[str, Any]:
        return {"cps": self.cps, "next": self.index}

    def forget(self) -> None:
        """Start at the file's top: the position remembered came from another network."""
        self.index = 0

    def next_cp(self, now: float, busy: bool) -> str | None:
        """The CP to request now, :data:`DONE` when the file is done, else None."""
        if busy:
            return None
        if self.index >= len(self.cps):
            return DONE
        if self._wait_until is not None and now < self._wait_until:
            return None
        self._wait_until = None
        self.index += 1
        return self.cps[self.index - 1]

    def ended(self, result: Ended, now: float) -> None:
        self.results.append(result)
        self._wait_until = now + self.wait_s

    def summary(self) -> Summary:
        done = [r for r in self.results if r.outcome == Outcome.TICKET]
        return Summary(len(self.results), len(done), len(self.results) - len(done),
                       sum((r.kwh for r in done), Decimal(0)),
                       sum((r.eur for r in done), Decimal(0)))
