"""The monitor's status line: engine health and the link to Central, redrawn in place on
a TTY (log lines print above it), silent otherwise (the logs tell)."""

from __future__ import annotations

import threading

from protocol.states import Health
from runtime.terminal import StatusLine


class MonitorStatus:
    def __init__(self, cp_id: str, line: StatusLine | None = None) -> None:
        self.line = line or StatusLine()
        self._lock = threading.Lock()
        self.cp_id = cp_id
        self.engine = Health.DOWN
        self.central = "connecting to Central"

    def text(self) -> str:
        return f"{self.cp_id}  engine {self.engine}  |  {self.central}"

    def update(self, *, engine: Health | None = None, central: str | None = None) -> None:
        with self._lock:
            self.engine = engine or self.engine
            self.central = central or self.central
            self.line.show(self.text())

    def close(self) -> None:
        self.line.close()
