"""Engine and monitor resident memory and idle CPU, one real CP connected to Central."""

from __future__ import annotations

import json
import time
import urllib.request

import psutil

from bench.network import central_with_cps


def wait_activated(url: str, cp_id: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/cps/{cp_id}", timeout=2) as response:
                if json.load(response)["state"] == "ACTIVATED":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{cp_id} never became ACTIVATED")


def run(window: float = 20.0) -> dict:
    with central_with_cps(1) as (network, url, _, cps, _):
        cp_id = cps[0].cp_id
        wait_activated(url, cp_id)
        time.sleep(2)
        procs = {role: psutil.Process(network.processes[f"{cp_id}-{role}"].pid)
                 for role in ("engine", "monitor")}
        before = {role: p.cpu_times() for role, p in procs.items()}
        time.sleep(window)
        out = {}
        for role, proc in procs.items():
            after = proc.cpu_times()
            used = (after.user - before[role].user) + (after.system - before[role].system)
            out[f"{role}_rss_mib"] = round(proc.memory_info().rss / 2**20, 1)
            out[f"{role}_idle_cpu_percent"] = round(100 * used / window, 2)
        return out
