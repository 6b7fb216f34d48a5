"""Helpers for the interop tests of our Pi charge point (``ev-cp-m --ocpp``) against an
independent central system: ``cp_central.js`` on the npm package ocpp-rpc (strict schema
validation), run with Node.js.  Under CI=true a missing Node.js or package is a failure
(tests.support.missing)."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

from edge.monitor.ocpp_ledger import wh
from tests.interop.conftest import node_or_missing as node
from tests.pi_ocpp import PiCp
from tests.support import free_port, stop, wait_for

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "cp_central.js"


class NodeCentral:
    """cp_central.js in a child process: what it received, and calls to make through it."""

    def __init__(self, folder: Path, log: Path, *, password: str | None = None,
                 interval: int = 60) -> None:
        self.port = free_port()
        self.state = folder / "central-state.json"
        self.log = log
        self.password, self.interval = password, interval
        self.events: list[tuple[float, dict]] = []
        self._lock = threading.Lock()
        self._refs = itertools.count(1)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def start(self) -> NodeCentral:
        args = [node(), str(SCRIPT), "--port", str(self.port), "--state", str(self.state),
                "--interval", str(self.interval)]
        if self.password is not None:
            args += ["--password", self.password]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=open(self.log, "ab"), text=True, bufsize=1)  # noqa: SIM115
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        self.wait_event("listening")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            event = json.loads(line)
            with self._lock:
                self.events.append((time.monotonic(), event))

    # -- what it received ---------------------------------------------------------
    def calls(self, method: str | None = None, since: float = 0.0) -> list[dict]:
        with self._lock:
            return [e["params"] for t, e in self.events if e["event"] == "call" and t >= since
                    and (method is None or e["method"] == method)]

    def methods(self, since: float = 0.0) -> list[str]:
        with self._lock:
            return [e["method"] for t, e in self.events if e["event"] == "call" and t >= since]

    def invalid(self) -> list[dict]:
        with self._lock:
            return [e for _, e in self.events if e["event"] == "invalid"]

    def wait_event(self, kind: str, since: float = 0.0, timeout: float = 15.0) -> dict:
        def found():
            with self._lock:
                return next((e for t, e in self.events if e["event"] == kind and t >= since),
                            None)

        return wait_for(found, timeout)

    def wait(self, method: str, since: float = 0.0, timeout: float = 15.0, **match) -> dict:
        def found():
            for params in self.calls(method, since):
                if all(params.get(k) == v for k, v in match.items()):
                    return [params]
            return None

        return wait_for(found, timeout)[0]

    # -- calls to the charge point --------------------------------------------------
    def call(self, method: str, params: dict, timeout: float = 15.0) -> dict:
        """The charge point's answer; an AssertionError when it answered with an error or
        an answer ocpp-rpc's strict validation refused."""
        ref = next(self._refs)
        self.process.stdin.write(json.dumps({"ref": ref, "method": method,
                                             "params": params}) + "\n")

        def answered():
            with self._lock:
                return next((e for _, e in self.events
                             if e.get("ref") == ref and e["event"] in ("result", "error")), None)

        answer = wait_for(answered, timeout)
        assert answer["event"] == "result", answer
        return answer["result"]

    def transaction_id(self, start: dict) -> int:
        state = json.loads(self.state.read_text())
        return state["transactions"][f"{start['idTag']}|{start['timestamp']}"]


def check_ledger(pi: PiCp, central: NodeCentral) -> None:
    """The engine's journal against what the central system received: each supply started
    and stopped exactly once, at its journaled times, with its energy in Wh; nothing the
    strict validator refused."""
    assert central.invalid() == []
    supplies = pi.journal()
    starts, stops = central.calls("StartTransaction"), central.calls("StopTransaction")
    assert len(supplies) == len(stops)
    assert len({(s["idTag"], s["timestamp"]) for s in starts}) == len(supplies)
    for supply in supplies:
        start = next(s for s in starts if s["timestamp"] == supply["started_at"])
        tid = central.transaction_id(start)
        [end] = [s for s in stops if s["transactionId"] == tid]
        assert end["timestamp"] == supply["ended_at"]
        assert end["meterStop"] - start["meterStart"] == wh(Decimal(supply["kwh"]))
