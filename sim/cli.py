"""``ev-sim``: the whole network on this machine, with mock GPIO.

Starts a Kafka-protocol broker and an MQTT broker (unless ``--kafka``/``--mqtt`` name
real ones), Central, the bridge and N charging points (an engine and a monitor each).
The first CP is left for a person to drive; at the others a simulated vehicle plugs in
after each authorization and leaves after ``--charge-seconds``, and M simulated drivers
ask for supplies there, round after round, for as long as the demo runs.  One more CP is
an OCPP 1.6J charger (our charge point with ``ev-cp-m --ocpp``) on Central's OCPP endpoint
(``--ocpp``), simulated like the others.  Prints what to type, then one line per CP state
change and per ticket.

However ``ev-sim`` ends, its children end with it: SIGINT, SIGTERM and SIGHUP stop them
in order (a second signal kills them at once), and a child whose parent is gone (SIGKILL)
is told so by the kernel (see :mod:`sim.children`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from protocol.transport import parse_address
from runtime import config, logs
from runtime.entry import console_script
from sim import brokers
from sim.demo import Demo, Stopping, say
from sim.network import Network, free_ports

log = logging.getLogger("ev-sim")

# Well-known ports, taken when free so that the README's commands work as written.
KAFKA_PORT, MQTT_PORT, CENTRAL_PORT, OCPP_PORT = 9092, 1883, 7000, 9000
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def build_parser() -> config.Parser:
    parser = config.Parser(prog="ev-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--cps", type=int, default=5,
                        help="charging points, the first one left for you (default 5)")
    parser.add_argument("--drivers", type=int, default=3, help="simulated drivers (default 3)")
    parser.add_argument("--requests", type=int, default=10,
                        help="requests in each driver's round (default 10); rounds go on")
    parser.add_argument("--charge-seconds", type=float, default=30.0,
                        help="how long a simulated vehicle charges (default 30)")
    parser.add_argument("--power-kw", default="22", type=config.decimal_in("0", "1000"),
                        help="charging power of every CP (default 22, a public AC charger)")
    parser.add_argument("--meter-speed", default="60", type=config.decimal_in("0", "3600"),
                        help="simulated clock: seconds of supply per real second "
                        "(default 60: a 30 s charge bills half an hour)")
    parser.add_argument("--http", default="127.0.0.1:8000", help="dashboard address")
    parser.add_argument("--listen", default=None,
                        help=f"Central's CP socket (default 127.0.0.1:{CENTRAL_PORT} if free)")
    parser.add_argument("--ocpp", default=None,
                        help=f"Central's OCPP 1.6J endpoint (default 127.0.0.1:{OCPP_PORT} if "
                        "free; 0.0.0.0:PORT lets in real chargers)")
    parser.add_argument("--kafka", default=None, help="Kafka HOST:PORT (default: embedded)")
    parser.add_argument("--mqtt", default=None, help="MQTT HOST:PORT (default: embedded)")
    parser.add_argument("--workdir", default=None, help="databases, journals and logs")
    parser.add_argument("--seed", type=int, default=None, help="seed for the driver files")
    return parser


def check(parser: config.Parser, args) -> None:
    if not 1 <= args.cps <= 500:
        parser.error("--cps must be between 1 and 500")
    if not 0 <= args.drivers <= 100 or args.requests < 1 or args.charge_seconds <= 0:
        parser.error("--drivers must be 0-100, --requests and --charge-seconds positive")
    try:
        args.http = parse_address(args.http)
        args.listen = args.listen and parse_address(args.listen)
        args.ocpp = args.ocpp and parse_address(args.ocpp)
        for flag in (args.kafka, args.mqtt):
            if flag:
                parse_address(flag)
    except ValueError as error:
        parser.error(str(error))


class Signals:
    """The first of SIGINT/SIGTERM/SIGHUP stops the network in order; a second one,
    during that shutdown, kills what is left at once.  SIGINT is caught even when the
    shell started us with it ignored (in the background)."""

    def __init__(self, hurry) -> None:
        self.hurry = hurry
        self.stopping = False
        for signum in SIGNALS:
            signal.signal(signum, self._first)

    def _first(self, signum: int, frame: object) -> None:
        self.shutting_down()
        raise Stopping(signal.Signals(signum).name)

    def shutting_down(self) -> None:
        """From now on a signal hurries the shutdown instead of starting one."""
        self.stopping = True
        for signum in SIGNALS:
            signal.signal(signum, self._second)

    def _second(self, signum: int, frame: object) -> None:
        say(f"{signal.Signals(signum).name} again: killing the network now")
        self.hurry()
        os._exit(128 + signum)


@console_script
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = config.parse(parser, argv, "sim")
    check(parser, args)
    logs.setup()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ev-sim-"))
    try:
        network = Network(workdir)
    except OSError as error:
        parser.error(f"--workdir {workdir}: {error.strerror or error}")
    started: list[brokers.Broker] = []

    def hurry() -> None:
        network.kill()
        for broker in started:
            broker.kill()

    signals = Signals(hurry)
    code = 0
    try:
        ports = free_ports()
        kafka = args.kafka or embedded(started, brokers.kafka_broker(
            workdir, prefer(KAFKA_PORT, "Kafka", ports)))
        mqtt = args.mqtt or embedded(started, brokers.mqtt_broker(
            workdir / "mqtt", prefer(MQTT_PORT, "MQTT", ports)))
        say(f"creating Kafka topics on {kafka}")
        brokers.create_topics(kafka)
        http = (args.http[0], prefer(args.http[1], "the dashboard", ports, args.http[0]))
        listen = args.listen or ("127.0.0.1", prefer(CENTRAL_PORT, "Central's CP socket", ports))
        ocpp = args.ocpp or ("127.0.0.1", prefer(OCPP_PORT, "Central's OCPP endpoint", ports))
        demo = Demo(network, args, ports, http=http, listen=listen, ocpp=ocpp, kafka=kafka,
                    mqtt=mqtt, brokers=started)
        demo.start()
        demo.watch(lambda: signals.stopping)
    except Stopping as why:
        say(f"{why}: stopping the network ...")
    except RuntimeError as error:
        say(f"ev-sim: {error}")
        code = 1
    signals.shutting_down()
    network.stop(say)
    for broker in reversed(started):
        broker.stop(say)
    say(f"stopped. Logs and databases are in {workdir}")
    return code


def prefer(port: int, what: str, ports, host: str = "127.0.0.1") -> int:
    """``port`` when it is free, else a free one (and a line that says so)."""
    from sim.network import port_free

    if port_free(host, port):
        return port
    other = next(ports)
    say(f"port {port} is in use: {what} goes on port {other}")
    return other


def embedded(started: list, broker: brokers.Broker) -> str:
    say(f"starting the embedded {broker.name} broker ({broker.kind}) on {broker.address}")
    started.append(broker.start())
    return broker.address


if __name__ == "__main__":
    sys.exit(main())
