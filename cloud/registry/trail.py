"""The registry's one call site into the audit trail: the table Central owns
(:mod:`cloud.central.audit`, in the same SQLite file), which also writes each record as
one JSON line on the ``evcharging.audit`` logger.  Parameters never hold a secret, a
token or a key: the callers pass what was asked and how it ended, nothing more
(tests/unit/registry/test_api.py checks the rows and the log)."""

from __future__ import annotations

from typing import Any

from cloud.central import audit


def record(store, action: str, actor: str, source: str, cp_id: str | None,
           params: dict[str, Any], outcome: str) -> None:
    store.append_audit(audit.Record(action, actor, source, cp_id, params, outcome))
