"""One log line per meaningful event, to stderr (the journal on a Pi)."""

import logging
import os
import sys


def setup(level: str | None = None) -> None:
    level = (level or os.environ.get("EV_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
