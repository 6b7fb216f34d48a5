"""Fault-to-dashboard latency for one CP with real engine and monitor processes.

The fault button is pressed on the engine's virtual front panel (the same mock pin a
person presses); the clock stops when the dashboard's server-sent event stream
says the tile is BROKEN.  Pressing again recovers, and the next round starts.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time

from bench.network import central_with_cps
from bench.stats import summary
from protocol import messages as m
from protocol.transport import Connection, connect


def sse_states(base_url: str, cp_id: str, states: queue.Queue) -> None:
    """Put (time, state) for ``cp_id`` from the dashboard's /events stream."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/events")
    stream = conn.getresponse()
    while line := stream.readline():
        if not line.startswith(b"data:"):
            continue
        now = time.perf_counter()
        for cp in _cps_in(json.loads(line[5:])):
            if cp.get("id") == cp_id:
                states.put((now, cp.get("state")))


def _cps_in(data):
    if isinstance(data, dict):
        if "id" in data and "state" in data:
            yield data
        for value in data.values():
            if isinstance(value, dict | list):
                yield from _cps_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from _cps_in(item)


def wait_state(states: queue.Queue, wanted: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while True:
        at, state = states.get(timeout=max(0.01, deadline - time.monotonic()))
        if state == wanted:
            return at


def run(rounds: int = 30) -> dict:
    with central_with_cps(1) as (network, url, _, cps, _token):
        cp = cps[0]
        states: queue.Queue = queue.Queue()
        threading.Thread(target=sse_states, args=(url, cp.cp_id, states), daemon=True).start()
        wait_state(states, "ACTIVATED", 20)
        panel = Connection(connect(f"127.0.0.1:{cp.panel_port}"), initiator=True,
                           on_message=lambda msg: None).start()
        panel.wait_open(2)
        lags = []
        for _ in range(rounds):
            pressed = time.perf_counter()
            panel.send(m.PanelAction(cp_id="", action="press", button="fault"))
            lags.append(wait_state(states, "BROKEN") - pressed)
            panel.send(m.PanelAction(cp_id="", action="press", button="fault"))
            wait_state(states, "ACTIVATED")
            time.sleep(0.1)
        panel.close()
    return summary("fault -> dashboard BROKEN", lags)
