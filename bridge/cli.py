"""``ev-bridge``: relays what charging points publish on MQTT into Kafka.

    ev-bridge [--mqtt HOST:PORT] [--kafka HOST:PORT] [--mqtt-user USER
              --mqtt-password-file PATH] [--mqtt-cafile PATH]
              [--client-id ID] [--shared]
              [--metrics HOST:PORT]

Each bridge keeps a persistent MQTT session under its client id (default
``bridge-<hostname>``), so Mosquitto queues what the CPs publish while the bridge is
away.  To spread the load over several bridges give each its own id
(``--client-id bridge-a``, ``bridge-b``) and ``--shared``: they join the shared
subscription ``$share/bridges/...``.  Caveat, measured with Mosquitto 2.0: it does not
restore shared subscriptions after a broker restart, so what CPs publish between the
restart and the bridges' return is dropped; a single bridge with the default plain
subscription loses nothing across broker restarts.  A CP's MQTT
user may only write its own topics: that is the broker's ACL
(``pattern write evcharging/cp/%u/#``); the bridge checks that the topic, the payload's
``cp_id`` and the message type agree, and dead-letters the rest.

Every flag also comes from ``/etc/evcharging/bridge.toml`` and ``EV_*`` variables.
"""

from __future__ import annotations

import argparse
import logging
import socket

from protocol.transport import parse_address
from runtime import config, logs, systemd
from runtime.entry import console_script
from runtime.signals import StopRequest

from .metrics import Reporter, serve
from .service import Bridge

log = logging.getLogger(__name__)

PROG = "ev-bridge"
DEFAULT_MQTT, DEFAULT_KAFKA = "127.0.0.1:1883", "127.0.0.1:9092"


def build_parser() -> config.Parser:
    parser = config.Parser(
        prog=PROG,
        description="MQTT -> Kafka bridge: validates what charging points publish, relays "
        "it to cp.events / cp.telemetry (or deadletter) and acknowledges it on MQTT only "
        "once Kafka has it.",
    )
    parser.add_argument("--mqtt", metavar="HOST:PORT", type=config.address, default=DEFAULT_MQTT,
                        help=f"MQTT broker (default {DEFAULT_MQTT})")
    parser.add_argument("--kafka", metavar="HOST:PORT", type=config.address, default=DEFAULT_KAFKA,
                        help=f"Kafka bootstrap server (default {DEFAULT_KAFKA})")
    parser.add_argument("--mqtt-user", metavar="USER", help="MQTT user name")
    parser.add_argument("--mqtt-password-file", metavar="PATH",
                        help="file holding the MQTT password")
    parser.add_argument("--mqtt-cafile", metavar="PATH", help="connect to MQTT over TLS, "
                        "trusting this CA certificate (the broker's name is checked)")
    parser.add_argument("--client-id", metavar="ID",
                        help="MQTT client id, the key of the persistent session "
                        "(default bridge-<hostname>; give each bridge its own)")
    parser.add_argument("--shared", action="store_true",
                        help="join the shared subscription $share/bridges/... (several "
                             "bridges share the load; see the caveat above)")
    parser.add_argument("--metrics", metavar="HOST:PORT", type=config.address,
                        help="serve Prometheus metrics over HTTP at this address")
    parser.add_argument("--max-in-flight", metavar="N", type=int, default=2000,
                        help="messages awaiting Kafka before reading pauses (default 2000)")
    return parser


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    if args.client_id is not None and not 0 < len(args.client_id.encode()) <= 128:
        parser.error("--client-id must be 1 to 128 bytes")
    if bool(args.mqtt_user) != bool(args.mqtt_password_file):
        parser.error("--mqtt-user and --mqtt-password-file go together")
    if args.max_in_flight < 1:
        parser.error("--max-in-flight must be at least 1")


@console_script
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = config.parse(parser, argv, "bridge")
    check(parser, args)
    password = None
    if args.mqtt_password_file:
        password = config.read_secret_file(args.mqtt_password_file, "password file", PROG)
    logs.setup()
    logging.getLogger("librdkafka").setLevel(logging.CRITICAL)  # the bridge says it better
    stop = StopRequest()
    stopping = stop.event
    client_id = args.client_id or f"bridge-{socket.gethostname()}"
    tls = config.read_tls_ca(args.mqtt_cafile, PROG) if args.mqtt_cafile else None
    bridge = Bridge(parse_address(args.mqtt), args.kafka, client_id, args.mqtt_user, password,
                    tls=tls, shared=args.shared, max_in_flight=args.max_in_flight)
    server = None
    if args.metrics:
        host, port = parse_address(args.metrics)
        try:
            server = serve(host, port, bridge.snapshot)
        except OSError as error:
            config.fail(f"--metrics: cannot listen on {args.metrics}: "
                        f"{error.strerror or error}", PROG)
        log.info("metrics at http://%s/metrics", args.metrics)
    log.info("bridge %s: MQTT %s (%s) -> Kafka %s", client_id, args.mqtt,
             bridge.subscription, args.kafka)
    bridge.start()
    reporter = Reporter(bridge.snapshot).start()
    systemd.ready(f"bridge {client_id}: MQTT {args.mqtt} -> Kafka {args.kafka}")
    while not stopping.wait(0.5):
        pass
    log.info("stopping on %s", stop.name or "request")
    systemd.stopping()
    left = bridge.stop(flush=5.0)
    reporter.stop()
    reporter.report()
    if left:
        log.warning("%d messages not confirmed by Kafka stay unacknowledged on MQTT", left)
    if server is not None:
        server.shutdown()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
