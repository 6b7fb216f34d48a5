"""The state dir: what a restarted driver app needs, as small JSON files written atomically.

``session.json``: the followed session, recently ended session ids and the file run's
position.  ``offsets.json``: the next offset to read in each ``driver.updates`` partition.
``network.json``: the Kafka cluster those belong to (:func:`same_network` decides whether
the cluster reached now is that one; when it is not, the app starts clean).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NETWORK = "network"
# Cluster ids a broker reports when none was configured (Tansu's default): every such
# broker reports the same one, so it tells no cluster from another.
PLACEHOLDER_CLUSTER_IDS = frozenset({"tansu_cluster"})


# -- pure: whose state is it ------------------------------------------------------------
def network_memory(cluster_id: str | None, bootstrap: str) -> dict[str, Any]:
    """What ``network.json`` holds for the cluster reached at ``bootstrap``."""
    return {"cluster_id": cluster_id or None, "bootstrap": bootstrap}


def identifies(cluster_id: str | None) -> bool:
    """Whether a cluster id names one cluster (None, "" and placeholders do not)."""
    return bool(cluster_id) and cluster_id not in PLACEHOLDER_CLUSTER_IDS


def same_network(saved: dict[str, Any], cluster_id: str | None, bootstrap: str) -> bool:
    """Whether state kept against ``saved`` (``network.json``) belongs to the cluster
    reached now.  A real cluster id decides alone (any broker of it, under any address);
    without one the bootstrap address must be the same too.  Nothing saved (a new state
    dir, or one from before ``network.json``) is taken as this cluster's."""
    if not saved:
        return True
    if saved.get("cluster_id") != (cluster_id or None):
        return False
    return identifies(cluster_id) or saved.get("bootstrap") == bootstrap


def describe(network: dict[str, Any]) -> str:
    """``network.json``'s cluster in words, for a log line."""
    cluster_id, bootstrap = network.get("cluster_id"), network.get("bootstrap", "?")
    return f"Kafka cluster {cluster_id} at {bootstrap}" if cluster_id else \
        f"Kafka at {bootstrap} (no cluster id)"



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
