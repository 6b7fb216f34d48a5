"""One log line per meaningful event, to stderr (the journal on a Pi)."""

from __future__ import annotations

import logging
import os
import sys

from runtime.terminal import StatusLine

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def level() -> str:
    """``EV_LOG_LEVEL`` (default INFO); a wrong one is one line and exit code 2."""
    name = (os.environ.get("EV_LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(name), int):
        from runtime.config import fail

        fail(f"EV_LOG_LEVEL {name!r} is not a log level (DEBUG, INFO, WARNING, ERROR)")
    return name


def setup(status: StatusLine | None = None) -> None:
    """Log to stderr; with ``status``, each line is printed above that status line."""
    handler = status.handler(sys.stderr) if status else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level())
