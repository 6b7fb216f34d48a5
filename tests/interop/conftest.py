"""Interop tests: Node.js scripts using ``ocpp-rpc`` (an OCPP 1.6J implementation nobody
here wrote, installed by ``npm ci`` from this folder's lockfile) against our side.

What every interop test shares: :func:`node_or_missing` (Node.js and the installed
package, else one line: a skip, a failure under CI=true), :func:`run_node` (run a script
with its arguments, return the JSON of its last output line) and :class:`NodeScript`
(the same, in the background: the test reads its events and tells it to go on)."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support import missing

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "node_modules" / "ocpp-rpc" / "package.json"


def node_or_missing() -> str:
    """The node executable; a missing Node.js or ocpp-rpc is :func:`missing`."""
    node = shutil.which("node")
    if node is None:
        missing("Node.js is not installed (apt-get install nodejs npm): no OCPP interop tests")
    if not PACKAGE.exists():
        missing("ocpp-rpc is not installed: run sh scripts/interop-deps.sh (npm ci)")
    return node


@pytest.fixture(scope="session")
def node() -> str:
    return node_or_missing()


def _last_json(output: str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise AssertionError("the script printed nothing")
    return json.loads(lines[-1])


def run_node(node: str, script: str, *args: Any, timeout: float = 30) -> dict[str, Any]:
    """Run ``script`` (in this folder) with ``args`` (dicts as JSON); its last line's JSON."""
    argv = [node, str(HERE / script), *(json.dumps(a) if not isinstance(a, str) else a
                                        for a in args)]
    done = subprocess.run(argv, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{script} failed ({done.returncode}): {done.stdout[-2000:]}"
                             f"{done.stderr[-2000:]}")
    return _last_json(done.stdout)


class NodeScript:
    """A script in the background: ``event()`` is its next ``{"event": ...}`` line,
    ``tell(text)`` writes a line to its stdin, ``result()`` waits for its end."""

    def __init__(self, node: str, script: str, *args: Any) -> None:
        argv = [node, str(HERE / script), *(json.dumps(a) if not isinstance(a, str) else a
                                            for a in args)]
        self.process = subprocess.Popen(argv, cwd=HERE, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.lines: queue.Queue = queue.Queue()
        self._out: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._out.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def event(self, timeout: float = 15) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"the script ended: {''.join(self._out)[-2000:]}")
            body = json.loads(line)
            if "event" in body:
                return body["event"]
            self.lines.put(line)  # the result: leave it for result()
            raise AssertionError(f"the script ended early: {line}")

    def tell(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def result(self, timeout: float = 30) -> dict[str, Any]:
        try:
            self.process.wait(timeout)
        finally:
            self.stop()
        self._reader.join(5)
        return _last_json("".join(self._out))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
