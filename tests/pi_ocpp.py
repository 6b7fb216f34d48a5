"""Our charge point in OCPP mode for tests: ev-cp-e (mock GPIO) and ev-cp-m --ocpp, real
processes, against whatever central system the test runs (Python's ``ocpp`` or ocpp-rpc)."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from tests.support import BIN, free_port, spawn, stop, wait_port


class PiCp:
    """Our charge point: ev-cp-e (mock GPIO) and ev-cp-m --ocpp, real processes."""

    def __init__(self, cp_id: str, folder: Path, output: Path, url: str, *flags: str) -> None:
        self.cp_id, self.dir, self.out, self.url, self.flags = cp_id, folder, output, url, flags
        for log in ("engine.log", "monitor.log"):  # fresh logs: the tests read them
            (output / log).unlink(missing_ok=True)
        self.listen, self.panel_port = free_port(), free_port()
        self.engine = self.monitor = None

    def start_engine(self) -> PiCp:
        self.engine = spawn(["ev-cp-e", "--cp-id", self.cp_id, "--listen",
                             f"127.0.0.1:{self.listen}", "--panel",
                             f"127.0.0.1:{self.panel_port}", "--state-dir",
                             str(self.dir / "engine")], self.out / "engine.log")
        wait_port(self.listen)
        wait_port(self.panel_port)
        return self

    def start_monitor(self) -> PiCp:
        self.monitor = spawn(["ev-cp-m", "--cp-id", self.cp_id, "--engine",
                              f"127.0.0.1:{self.listen}", "--ocpp", f"{self.url}/{self.cp_id}",
                              "--state-dir", str(self.dir / "monitor"), "--price", "0.30",
                              *self.flags], self.out / "monitor.log")
        return self

    def press(self, button: str) -> None:
        subprocess.run([str(BIN / "ev-cp-e"), "panel", "--panel",
                        f"127.0.0.1:{self.panel_port}", "press", button],
                       check=True, capture_output=True, timeout=10)

    def journal(self) -> list[dict]:
        uri = f"file:{self.dir / 'engine' / 'journal.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM supplies ORDER BY started_at")]

    def close(self) -> None:
        for process in (self.monitor, self.engine):
            if process is not None:
                stop(process)
