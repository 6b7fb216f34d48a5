"""Engine and monitor over a serial line (two pty pairs joined as a null modem)."""

from __future__ import annotations

import os
import select
import threading
import tty

import pytest

from tests.integration.conftest import LiveNetwork
from tests.support import bound

pytestmark = pytest.mark.integration


class NullModem:
    """Two pty pairs whose main sides are wired together: what one side writes on its
    serial device the other side reads from its own, like a crossed serial cable."""

    def __init__(self) -> None:
        self._pairs = [os.openpty() for _ in range(2)]
        for _, sub in self._pairs:
            tty.setraw(sub)
        self.ports = [os.ttyname(sub) for _, sub in self._pairs]
        self._stop = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        a, b = (main for main, _ in self._pairs)
        peer = {a: b, b: a}
        while not self._stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.1)
            for fd in ready:
                try:
                    os.write(peer[fd], os.read(fd, 4096))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()


@pytest.mark.latency
def test_engine_and_monitor_over_serial(tmp_path):
    live = LiveNetwork(tmp_path, 1)
    modem = NullModem()
    cp = live.cps[0]
    try:
        live.start_central()
        live.net.start("engine", ["ev-cp-e", "--cp-id", cp.cp_id, "--serial", modem.ports[0],
                                  "--panel", f"127.0.0.1:{cp.panel_port}",
                                  "--state-dir", str(tmp_path / "engine")])
        live.net.start("monitor", ["ev-cp-m", "--cp-id", cp.cp_id, "--serial", modem.ports[1],
                                   "--central", live.central,
                                   "--secret-file", str(live.secrets[cp.cp_id])])
        live.wait_state(cp.cp_id, "ACTIVATED", 15)
        live.panel(cp, "press", "fault")
        took = live.wait_state(cp.cp_id, "BROKEN", 30)
        assert took <= bound(2), f"BROKEN after {took:.2f} s over the serial line, promised 2 s"
        live.panel(cp, "press", "fault")
        live.wait_state(cp.cp_id, "ACTIVATED")
    finally:
        live.stop()
        modem.close()
