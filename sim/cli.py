"""``ev-sim``: the whole network on this machine, with mock GPIO.

Starts a Kafka-protocol broker and an MQTT broker (unless ``--kafka``/``--mqtt`` name
real ones), Central, the bridge, N charging points (an engine and a monitor each, on
their own loopback ports; a simulated vehicle plugs in after each authorization and
unplugs after ``--charge-seconds``) and M drivers working through files of requests.
Prints the dashboard URL, the admin token and each CP's panel command, then one line
per CP state change and per ticket until Ctrl+C stops everything.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from protocol.transport import parse_address
from runtime import config, logs
from sim import brokers
from sim.fleet import driver_files, plan
from sim.network import BIN, Network, free_ports, port_free, start_cp, wait_port

log = logging.getLogger("ev-sim")


def build_parser() -> config.Parser:
    parser = config.Parser(prog="ev-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--cps", type=int, default=5, help="charging points (default 5)")
    parser.add_argument("--drivers", type=int, default=3, help="drivers (default 3)")
    parser.add_argument("--services", type=int, default=10,
                        help="supplies each driver asks for (default 10)")
    parser.add_argument("--charge-seconds", type=float, default=8.0,
                        help="how long a simulated vehicle charges (default 8)")
    parser.add_argument("--http", default="127.0.0.1:8000", help="dashboard address")
    parser.add_argument("--listen", default=None, help="Central's CP socket (default: free)")
    parser.add_argument("--kafka", default=None, help="Kafka HOST:PORT (default: embedded)")
    parser.add_argument("--mqtt", default=None, help="MQTT HOST:PORT (default: embedded)")
    parser.add_argument("--workdir", default=None, help="databases, journals and logs")
    parser.add_argument("--seed", type=int, default=None, help="seed for the driver files")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = config.parse(build_parser(), argv, "sim")
    logs.setup()
    if not 1 <= args.cps <= 500:
        config.fail("--cps must be between 1 and 500", "ev-sim")
    if not 0 <= args.drivers <= 100 or args.services < 1 or args.charge_seconds <= 0:
        config.fail("--drivers must be 0-100, --services and --charge-seconds positive",
                    "ev-sim")
    try:
        http_host, http_port = parse_address(args.http)
        listen = args.listen and parse_address(args.listen)
        for flag in (args.kafka, args.mqtt):
            if flag:
                parse_address(flag)
    except ValueError as error:
        config.fail(str(error), "ev-sim")
    ports = free_ports()
    if not port_free(http_host, http_port):
        fallback = next(ports)
        log.warning("port %s is in use; the dashboard goes on port %s", http_port, fallback)
        http_port = fallback
    listen = listen or ("127.0.0.1", next(ports))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ev-sim-"))
    network = Network(workdir)
    started: list[brokers.Broker] = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        kafka = args.kafka or embedded(started, brokers.kafka_broker(workdir, next(ports)))
        mqtt = args.mqtt or embedded(started, brokers.mqtt_broker(workdir / "mqtt", next(ports)))
        say(f"creating Kafka topics on {kafka}")
        brokers.create_topics(kafka)
        run(network, args, (http_host, http_port), listen, kafka, mqtt, ports)
    except KeyboardInterrupt:
        print("\nstopping the network ...", flush=True)
    except RuntimeError as error:
        print(f"ev-sim: {error}", file=sys.stderr)
        shutdown(network, started)
        raise SystemExit(1) from None
    shutdown(network, started)
    print(f"stopped. Logs and databases are in {workdir}")


def embedded(started: list, broker: brokers.Broker) -> str:
    say(f"starting the embedded {broker.name} broker on {broker.address}")
    started.append(broker.start())
    return broker.address


def shutdown(network: Network, started: list) -> None:
    network.stop()
    for broker in reversed(started):
        broker.stop()


def run(network: Network, args, http, listen, kafka: str, mqtt: str, ports) -> None:
    workdir, db = network.workdir, network.workdir / "central.db"
    token = secrets.token_urlsafe(18)
    cps = plan(args.cps, ports)
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    for cp in cps:
        secret_file = secrets_dir / f"{cp.cp_id}.secret"
        if not secret_file.exists():
            out = network.run(["ev-central", "cp", "add", cp.cp_id, "--location", cp.location,
                               "--price", str(cp.price), "--db", str(db)])
            secret_file.write_text(out.strip().splitlines()[-1] + "\n")
            secret_file.chmod(0o600)
    files = driver_files(workdir / "drivers", args.drivers, args.services, cps,
                         random.Random(args.seed))
    for driver_id in files:
        try:
            network.run(["ev-central", "driver", "add", driver_id, "--db", str(db)])
        except RuntimeError as error:  # a --workdir used before already has them
            if "exists" not in str(error):
                raise
    central = f"{listen[0]}:{listen[1]}"
    say("starting Central, the bridge and the charging points")
    process = network.start("central", [
        "ev-central", "--listen", central, "--http", f"{http[0]}:{http[1]}", "--db", str(db),
        f"--admin-token={token}", "--kafka", kafka])
    wait_port(http[1], 30, "Central", process, network.logs / "central.log")
    network.start("bridge", ["ev-bridge", "--mqtt", mqtt, "--kafka", kafka,
                             "--client-id", "bridge-sim"])
    for cp in cps:
        start_cp(network, cp, central, secrets_dir / f"{cp.cp_id}.secret",
                 "--mqtt", mqtt, "--vehicle-sim", str(args.charge_seconds))
    url = f"http://{http[0]}:{http[1]}/"
    print(f"\ndashboard:   {url}\nadmin token: {token}\nworkdir:     {workdir}\n"
          f"kafka:       {kafka}\nmqtt:        {mqtt}\n")
    panel = shutil.which("ev-cp-e") and "ev-cp-e" or str(BIN / "ev-cp-e")
    for cp in cps:
        print(f"  {cp.cp_id:8} {cp.location:10} {cp.price} EUR/kWh   "
              f"{panel} panel --panel 127.0.0.1:{cp.panel_port} press fault|plug|request")
    for driver_id, path in files.items():
        network.start(driver_id, ["ev-driver", "--kafka", kafka, "--driver-id", driver_id,
                                  "--file", str(path),
                                  "--state-dir", str(workdir / "drivers" / driver_id)])
        print(f"  driver {driver_id}: {args.services} services from {path}, "
              f"log in {network.logs / (driver_id + '.log')}")
    print("\nCtrl+C stops everything.\n", flush=True)
    watch(network, url)


def watch(network: Network, url: str) -> None:
    """One line per CP state change, per ticket, and per process that exits."""
    seen: dict[str, str] = {}
    tickets: set[str] = set()
    while True:
        for name, code in network.exited():
            say(f"process {name} exited with code {code}")
        for cp in get(url + "api/cps") or []:
            if seen.get(cp["id"]) != cp["state"]:
                seen[cp["id"]] = cp["state"]
                driver = f"  driver {cp['driver_id']}" if cp.get("driver_id") else ""
                say(f"{cp['id']:8} {cp['state']}{driver}")
        for session in get(url + "api/sessions") or []:
            if session.get("status") == "ended" and session["id"] not in tickets:
                tickets.add(session["id"])
                say(f"{session['cp_id']:8} ticket for {session.get('driver_id') or 'CP user'}: "
                    f"{session['kwh']} kWh, {session['eur']} EUR ({session['reason']})")
        time.sleep(0.5)


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)
