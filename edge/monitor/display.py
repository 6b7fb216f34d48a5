"""The terminal status line: redrawn in place on a TTY, silent otherwise (logs tell)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class StatusLine:
    def __init__(self, cp_id: str, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._tty = self._stream.isatty()
        self._lock = threading.Lock()
        self.cp_id = cp_id
        self.engine = "DOWN"
        self.central = "connecting to Central"

    def text(self) -> str:
        return f"{self.cp_id}  engine {self.engine}  |  {self.central}"

    def update(self, *, engine: str | None = None, central: str | None = None) -> None:
        with self._lock:
            before = (self.engine, self.central)
            self.engine = engine or self.engine
            self.central = central or self.central
            if self._tty and (self.engine, self.central) != before:
                self._stream.write("\r\x1b[K" + self.text())
                self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._tty:
                self._stream.write("\n")
                self._stream.flush()
