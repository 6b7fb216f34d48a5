"""The processes of a simulated network, each on its own loopback ports.

Only processes started here are ever stopped, by PID.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sim.children import die_with_parent, stop_all
from sim.fleet import SimulatedCP

BIN = Path(sys.executable).parent


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``port`` now (as servers do, with SO_REUSEADDR:
    connections of an earlier run waiting in TIME_WAIT do not make it taken)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


# The ports free_ports() handed out last in this process, bound yet or not: two callers
# at the same moment (a network and its brokers, say) never get the same one.
_RECENT: deque[int] = deque(maxlen=1000)
PORTS = (20000, 32000)  # free_ports()'s range unless EV_PORT_RANGE narrows it


def port_range() -> tuple[int, int]:
    """Where free_ports() looks: below the kernel's ephemeral range (32768 and up), so
    that no outgoing connection takes a port between the moment we pick it and the moment
    it is bound.  EV_PORT_RANGE ("low-high") narrows it: each test worker has a range of
    its own, or two workers could pick the same free port at the same moment."""
    wanted = os.environ.get("EV_PORT_RANGE")
    if wanted is None:
        return PORTS
    low, _, high = wanted.partition("-")
    return int(low), int(high)


def free_ports():
    """Free loopback ports, never the same one twice."""
    low, high = port_range()
    taken: set[int] = set()
    while True:
        port = random.randint(low, high)
        if port not in taken and port not in _RECENT and port_free("127.0.0.1", port):
            taken.add(port)
            _RECENT.append(port)
            yield port


def wait_port(port: int, timeout: float, what: str,
              process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Wait until ``port`` accepts connections; fail at once if ``process`` exits, with
    the end of its ``log``.  (Starts can be slow: where PYTHONDONTWRITEBYTECODE is set,
    every start compiles Flask, confluent-kafka and the rest again.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}: {tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f} s: {tail(log)}")


def tail(log: Path | None, lines: int = 5) -> str:
    if log is None or not log.exists():
        return "no log"
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


class Network:
    """Child processes with their logs under ``workdir/logs``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        environment = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONUNBUFFERED": "1",
                       **env}
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            [str(BIN / args[0]), *args[1:]], stdout=out, stderr=subprocess.STDOUT,
            env=environment, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        self.processes[name] = process
        return process

    def run(self, args: list[str]) -> str:
        done = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr.strip()}")
        return done.stdout

    def exited(self) -> list[tuple[str, int]]:
        gone = [(n, p.returncode) for n, p in self.processes.items() if p.poll() is not None]
        for name, _ in gone:
            del self.processes[name]
        return gone

    def kill(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()

    def stop(self, say: Callable[[str], None] = lambda text: None) -> None:
        """Stop every child (the last started first to be signalled), 5 s at most."""
        stop_all(dict(reversed(self.processes.items())), say)


def start_cp(network: Network, cp: SimulatedCP, central: str, secret_file: Path,
             *extra: str, monitor: list[str] = ()) -> None:
    """An engine and its monitor; ``extra`` flags go to the engine, ``monitor`` ones to
    the monitor."""
    state = network.workdir / "cps" / cp.cp_id
    state.mkdir(parents=True, exist_ok=True)
    engine = f"127.0.0.1:{cp.engine_port}"
    name = f"{cp.cp_id}-engine"
    process = network.start(name, [
        "ev-cp-e", "--cp-id", cp.cp_id, "--listen", engine,
        "--panel", f"127.0.0.1:{cp.panel_port}", "--state-dir", str(state), *extra,
    ])
    wait_port(cp.engine_port, 30, f"engine {cp.cp_id}", process, network.logs / f"{name}.log")
    network.start(f"{cp.cp_id}-monitor", [
        "ev-cp-m", "--cp-id", cp.cp_id, "--engine", engine, "--central", central,
        "--secret-file", str(secret_file), "--location", cp.location, *monitor,
    ])
