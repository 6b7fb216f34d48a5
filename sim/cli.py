"""``ev-sim``: the whole network on this machine, with mock GPIO.

Starts Central and N charging points (an engine and a monitor each, on their own
loopback ports), prints the dashboard URL, the admin token and each CP's panel
command, then prints one line per CP state change until Ctrl+C stops everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from protocol.transport import parse_address
from runtime import config, logs
from sim.fleet import SimulatedCP, plan

log = logging.getLogger("ev-sim")
BIN = Path(sys.executable).parent


def free_ports(low: int = 20000, high: int = 32000):
    """Free loopback ports below the kernel's ephemeral range, so that no outgoing
    connection takes one between the moment we pick it and the moment it is bound."""
    taken: set[int] = set()
    while True:
        port = random.randint(low, high)
        if port not in taken and port_free("127.0.0.1", port):
            taken.add(port)
            yield port


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


class Network:
    """The processes of one simulated network; ends only what it started."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONUNBUFFERED": "1"}
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            [str(BIN / args[0]), *args[1:]], stdout=out, stderr=subprocess.STDOUT, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.processes[name] = process
        return process

    def run(self, args: list[str]) -> str:
        done = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr.strip()}")
        return done.stdout

    def exited(self) -> list[tuple[str, int]]:
        gone = [(n, p.returncode) for n, p in self.processes.items() if p.poll() is not None]
        for name, _ in gone:
            del self.processes[name]
        return gone

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        deadline = time.monotonic() + 5
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f} s")


def build_parser() -> argparse.ArgumentParser:
    parser = config.Parser(prog="ev-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--cps", type=int, default=5, help="charging points (default 5)")
    parser.add_argument("--drivers", type=int, default=0, help="drivers (next issue)")
    parser.add_argument("--http", default="127.0.0.1:8000", help="dashboard address")
    parser.add_argument("--listen", default=None, help="Central's CP socket (default: free)")
    parser.add_argument("--workdir", default=None, help="databases, journals and logs")
    parser.add_argument("--kafka", default=None, help="Kafka HOST:PORT (next issue)")
    parser.add_argument("--mqtt", default=None, help="MQTT HOST:PORT (next issue)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = config.parse(build_parser(), argv, "sim")
    logs.setup()
    if not 1 <= args.cps <= 500:
        config.fail("--cps must be between 1 and 500", "ev-sim")
    try:
        http_host, http_port = parse_address(args.http)
        listen = args.listen and parse_address(args.listen)
    except ValueError as error:
        config.fail(str(error), "ev-sim")
    ports = free_ports()
    if not port_free(http_host, http_port):
        fallback = next(ports)
        log.warning("port %s is in use; the dashboard goes on port %s", http_port, fallback)
        http_port = fallback
    listen_host, listen_port = listen or ("127.0.0.1", next(ports))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ev-sim-"))
    network = Network(workdir)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        run(network, args.cps, (http_host, http_port), (listen_host, listen_port), ports)
    except KeyboardInterrupt:
        print("\nstopping the network ...", flush=True)
    except RuntimeError as error:
        print(f"ev-sim: {error}", file=sys.stderr)
        network.stop()
        raise SystemExit(1) from None
    network.stop()
    print(f"stopped. Logs and databases are in {workdir}")


def run(network: Network, count: int, http, listen, ports) -> None:
    workdir, db = network.workdir, network.workdir / "central.db"
    token = secrets.token_urlsafe(18)
    cps = plan(count, ports)
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    for cp in cps:
        secret_file = secrets_dir / f"{cp.cp_id}.secret"
        if not secret_file.exists():
            out = network.run(["ev-central", "cp", "add", cp.cp_id, "--location", cp.location,
                               "--price", str(cp.price), "--db", str(db)])
            secret_file.write_text(out.strip().splitlines()[-1] + "\n")
            secret_file.chmod(0o600)
    central = f"{listen[0]}:{listen[1]}"
    network.start("central", ["ev-central", "--listen", central, "--http", f"{http[0]}:{http[1]}",
                              "--db", str(db), "--admin-token", token])
    wait_port(http[1], 15, "Central")
    for cp in cps:
        start_cp(network, cp, central, secrets_dir / f"{cp.cp_id}.secret")
    url = f"http://{http[0]}:{http[1]}/"
    print(f"\ndashboard:   {url}\nadmin token: {token}\nworkdir:     {workdir}\n")
    panel = shutil.which("ev-cp-e") and "ev-cp-e" or str(BIN / "ev-cp-e")
    for cp in cps:
        print(f"  {cp.cp_id:8} {cp.location:10} {cp.price} EUR/kWh   "
              f"{panel} panel --panel 127.0.0.1:{cp.panel_port} press fault|plug|request")
    print("\nCtrl+C stops everything.\n", flush=True)
    watch(network, url)


def start_cp(network: Network, cp: SimulatedCP, central: str, secret_file: Path) -> None:
    state = network.workdir / "cps" / cp.cp_id
    state.mkdir(parents=True, exist_ok=True)
    engine = f"127.0.0.1:{cp.engine_port}"
    network.start(f"{cp.cp_id}-engine", [
        "ev-cp-e", "--cp-id", cp.cp_id, "--listen", engine,
        "--panel", f"127.0.0.1:{cp.panel_port}", "--state-dir", str(state),
    ])
    wait_port(cp.engine_port, 15, f"engine {cp.cp_id}")
    network.start(f"{cp.cp_id}-monitor", [
        "ev-cp-m", "--cp-id", cp.cp_id, "--engine", engine, "--central", central,
        "--secret-file", str(secret_file), "--location", cp.location,
    ])


def watch(network: Network, url: str) -> None:
    """One line per CP state change, and one per process that exits."""
    seen: dict[str, str] = {}
    while True:
        for name, code in network.exited():
            say(f"process {name} exited with code {code}")
        try:
            with urllib.request.urlopen(url + "api/cps", timeout=2) as response:
                cps = json.load(response)
        except OSError:
            cps = []
        for cp in cps:
            if seen.get(cp["id"]) != cp["state"]:
                seen[cp["id"]] = cp["state"]
                driver = f"  driver {cp['driver_id']}" if cp.get("driver_id") else ""
                say(f"{cp['id']:8} {cp['state']}{driver}")
        time.sleep(0.5)


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)
