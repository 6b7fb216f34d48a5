"""The state dir: what a restarted driver app needs, as small JSON files written atomically.

``session.json``: the followed session, recently ended session ids and the file run's
position.  ``offsets.json``: the next offset to read in each ``driver.updates`` partition.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> None:
        """Create the folder; OSError if it cannot be."""
        self.path.mkdir(parents=True, exist_ok=True)
        probe = self.path / ".probe"
        probe.write_text("")
        probe.unlink()

    def load(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.path / f"{name}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("ignored unreadable %s/%s.json: %s", self.path, name, error)
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, name: str, data: dict[str, Any]) -> None:
        target = self.path / f"{name}.json"
        temporary = target.with_suffix(".tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as out:
                json.dump(data, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as error:
            log.warning("cannot save %s: %s", target, error)
