"""The terminal: single-key buttons on a TTY and a live status line (or progress logs)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from edge.engine.panel import VirtualPanel
from protocol.messages import driver_or_ad_hoc
from runtime.terminal import StatusLine

log = logging.getLogger(__name__)
KEYS = {"f": "fault", "p": "plug", "r": "request"}
PROGRESS_LOG_S = 5.0


def status_line(snapshot: dict) -> str:
    links = f"monitor {'up' if snapshot['monitor'] else 'down'}, " \
        f"Central {'up' if snapshot['central'] else 'down'}"
    if snapshot.get("uplink"):
        links += f", MQTT {'up' if snapshot['mqtt'] else 'down'}, outbox {snapshot['outbox']}"
    lit = " ".join(f"{colour}:{how}" for colour, how in snapshot["leds"].items() if how != "off")
    text = (f"{snapshot['cp_id']} {snapshot['state'].upper()} {snapshot['health']} "
            f"[LEDs {lit or 'off'}] ({links})")
    supply = snapshot["supply"]
    if snapshot.get("key_revoked"):
        text += " | key revoked by Central: no supply until a new key"
    if supply:
        text += (f" | {driver_or_ad_hoc(supply['driver_id'])} {supply['kw']} kW "
                 f"{supply['kwh']} kWh {supply['eur']} EUR")
    elif snapshot["authorization"]:
        auth = snapshot["authorization"]
        text += (f" | waiting for {driver_or_ad_hoc(auth['driver_id'])} to plug in "
                 f"({auth['expires_in_s']} s)")
    return text


class Console:
    def __init__(self, engine, panel: VirtualPanel, stop: threading.Event,
                 line: StatusLine | None = None) -> None:
        self._engine = engine
        self._panel = panel
        self._stop = stop
        self.line = line or StatusLine()
        self._last_progress = 0.0

    def show(self) -> None:
        """Called on each tick: redraw the line on a TTY, else log supply progress."""
        snapshot = self._engine.snapshot()
        if self.line.tty:
            self.line.show(status_line(snapshot))
            return
        now = time.monotonic()
        if snapshot["supply"] and now - self._last_progress >= PROGRESS_LOG_S:
            self._last_progress = now
            log.info("%s", status_line(snapshot))

    def start_keyboard(self) -> None:
        if not sys.stdin.isatty():
            return
        threading.Thread(target=self._keyboard, name="keyboard", daemon=True).start()
        log.info("keys: f=fault p=plug r=request q=quit")

    def _keyboard(self) -> None:
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while not self._stop.is_set():
                key = os.read(fd, 1).decode(errors="ignore").lower()
                if key == "q" or not key:
                    self._stop.set()
                elif key in KEYS:
                    self._panel.click(KEYS[key])
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
