"""The registry's one call site into the audit trail (the table Central owns, in the
same SQLite file; the contract's schema: UTC time, actor, source address, action,
parameters as JSON, outcome), and its JSON line on the ``evcharging.audit`` logger.

Central's :mod:`cloud.central.audit` (branch sec-central) owns the table and the
record; once it is here this function's body is the one line
``store.append_audit(audit.Record(action, actor, source, cp_id, params, outcome))``.
Until then it writes the table the store has (``actor@source``, the action, the CP, the
parameters and outcome as JSON), which that module migrates.  Parameters never hold a
secret, a token or a key: the callers pass what was asked and how it ended, nothing
more (tests/unit/registry/test_api.py checks the rows and the log).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from protocol.messages import utc_now

log = logging.getLogger("evcharging.audit")


def record(store, action: str, actor: str, source: str, cp_id: str | None,
           params: dict[str, Any], outcome: str) -> None:
    row = {"ts": utc_now(), "actor": actor, "source": source, "action": action,
           "cp_id": cp_id, "params": params, "outcome": outcome}
    short = {name: value[:40] if isinstance(value, str) else value
             for name, value in params.items()}  # that table keeps 200 characters a row
    detail = json.dumps({"params": short, "outcome": outcome}, ensure_ascii=False,
                        separators=(",", ":"))
    store.audit(f"{actor}@{source}", action, cp_id, detail)
    log.info("%s", json.dumps(row, ensure_ascii=False, separators=(",", ":")))
