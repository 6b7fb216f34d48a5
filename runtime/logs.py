"""One log line per meaningful event, to stderr (the journal on a Pi)."""

from __future__ import annotations

import logging
import os
import sys

from runtime.terminal import StatusLine

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup(level: str | None = None, status: StatusLine | None = None) -> None:
    """Log to stderr; with ``status``, each line is printed above that status line."""
    level = (level or os.environ.get("EV_LOG_LEVEL") or "INFO").upper()
    handler = status.handler(sys.stderr) if status else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
