"""``ev-central``: serve the CP socket and the dashboard, or register CPs and drivers.

    ev-central [--listen HOST:PORT] [--http HOST:PORT] [--kafka HOST:PORT] [--db PATH]
               [--admin-token T] [--weather-token-file F]
               [--ocpp HOST:PORT [--ocpp-tls-cert F --ocpp-tls-key F]]
    ev-central cp add ID --location L --price EUR_PER_KWH [--db PATH]
    ev-central cp list [--db PATH]
    ev-central driver add ID [--db PATH]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

from cloud.central.audit_trail import standard_stream
from cloud.central.errors import DomainError
from cloud.central.events import EventStream
from cloud.central.registration import register_cp, register_driver
from protocol.transport import parse_address
from runtime import config, listening, logs, signals, systemd
from runtime.entry import console_script

log = logging.getLogger("cloud.central")
PROG = "ev-central"


def _address(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> config.Parser:
    parser = config.Parser(prog=PROG, description="EV charging network Central")
    parser.add_argument("--listen", type=_address, default="127.0.0.1:7000", metavar="HOST:PORT",
                        help="CP socket server (default 127.0.0.1:7000)")
    parser.add_argument("--http", type=_address, default="127.0.0.1:8000", metavar="HOST:PORT",
                        help="dashboard and REST API (default 127.0.0.1:8000)")
    parser.add_argument("--db", default="./central.db", metavar="PATH", help="SQLite file")
    parser.add_argument("--admin-token", metavar="TOKEN",
                        help="bearer token for admin calls (generated and printed when absent)")
    parser.add_argument("--weather-token-file", metavar="PATH",
                        help="file holding the weather office's service token (alerts; "
                             "the office's calls are refused without it)")
    parser.add_argument("--kafka", type=_address, metavar="HOST:PORT",
                        help="Kafka bootstrap server: CP telemetry and records, driver "
                             "requests and updates (none when absent)")
    parser.add_argument("--ocpp", type=_address, metavar="HOST:PORT",
                        help="OCPP 1.6J endpoint for standard chargers: ws://HOST:PORT/ocpp/"
                             "<cp_id>, Basic auth with the CP's secret (none when absent)")
    parser.add_argument("--ocpp-tls-cert", metavar="PATH",
                        help="certificate (PEM chain) of the OCPP endpoint: wss:// "
                             "(security profile 2)")
    parser.add_argument("--ocpp-tls-key", metavar="PATH",
                        help="private key of --ocpp-tls-cert")
    commands = parser.add_subparsers(dest="command", parser_class=config.Parser)
    cp = commands.add_parser("cp", help="charging points").add_subparsers(
        dest="cp_command", required=True, parser_class=config.Parser)
    add = cp.add_parser("add", help="register a CP; prints its secret as the last line")
    add.add_argument("id")
    add.add_argument("--location", required=True)
    add.add_argument("--price", required=True, metavar="EUR_PER_KWH")
    add.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS)
    listing = cp.add_parser("list", help="list registered CPs")
    listing.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS)
    driver = commands.add_parser("driver", help="drivers").add_subparsers(
        dest="driver_command", required=True, parser_class=config.Parser)
    add_driver = driver.add_parser("add", help="register a driver")
    add_driver.add_argument("id")
    add_driver.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS)
    return parser


@console_script
def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv, "central")
    logs.setup()
    from cloud.central.store import Store

    try:
        store = Store(args.db)
    except Exception as error:  # sqlite3 errors: unreadable file, not a database...
        config.fail(f"cannot open database {args.db}: {error}", PROG)
    if args.command == "cp":
        return _cp(args, store)
    if args.command == "driver":
        return _driver(args, store)
    return serve(args, store)


def _cp(args: argparse.Namespace, store) -> int:
    if args.cp_command == "list":
        for row in store.cps():
            reasons = ",".join(sorted(store.stop_reasons(row)))
            state = f"stopped:{reasons}" if reasons else "enabled"
            print(f"{row['id']}\t{row['price_eur_kwh']}\t{state}\t{row['location']}")
        return 0
    try:
        secret = register_cp(store, _events(store), args.id, args.location, args.price, "cli")
    except DomainError as error:
        config.fail(str(error), PROG)
    print(f"registered CP {args.id}; its secret (shown once) is on the next line", flush=True)
    print(secret, flush=True)
    return 0


def _driver(args: argparse.Namespace, store) -> int:
    try:
        register_driver(store, _events(store), args.id, "cli")
    except DomainError as error:
        config.fail(str(error), PROG)
    print(f"registered driver {args.id}", flush=True)
    return 0


def _events(store) -> EventStream:
    """The command line's domain events: the audit trail and the log."""
    return standard_stream(store)


def _why(error: OSError) -> str:
    return error.strerror or str(error)




def serve(args: argparse.Namespace, store) -> int:
    from werkzeug.serving import make_server

    from cloud.central.cp_server import CpServer
    from cloud.central.fleet import Fleet

    (cp_host, cp_port), (http_host, http_port) = args.listen, args.http
    token = args.admin_token or secrets.token_urlsafe(24)
    weather_token = None
    if args.weather_token_file:
        weather_token = config.read_secret_file(args.weather_token_file,
                                                "weather token file", PROG)
        if weather_token == token:
            config.fail("the weather service token must differ from the admin token", PROG)
    ocpp_tls = _ocpp_tls(args)
    fleet = Fleet(store)
    try:
        http_socket = listening.bind(http_host, http_port)
    except OSError as error:
        config.fail(f"cannot listen on {http_host}:{http_port} (--http): {_why(error)}", PROG)
    ocpp_socket = None
    if args.ocpp:
        try:
            ocpp_socket = listening.bind(*args.ocpp)
        except OSError as error:
            http_socket.close()
            config.fail(f"cannot listen on {args.ocpp[0]}:{args.ocpp[1]} (--ocpp): "
                        f"{_why(error)}", PROG)
    server = CpServer(fleet, cp_host, cp_port)
    try:
        server.start()
    except OSError as error:
        http_socket.close()
        config.fail(f"cannot listen on {cp_host}:{cp_port} (--listen): {_why(error)}", PROG)
    try:
        from cloud.central.app import create_app

        app = create_app({"FLEET": fleet, "ADMIN_TOKEN": token, "WEATHER_TOKEN": weather_token,
                          "DB": store.path})
        httpd = make_server(http_host, http_port, app, threaded=True,
                            fd=http_socket.fileno())
    except Exception as error:
        server.stop()
        config.fail(f"cannot start the web app: {error}", PROG)
    http_socket.close()  # make_server holds its own duplicate of the descriptor
    ocpp = None
    if ocpp_socket is not None:
        ocpp = _ocpp(fleet, ocpp_socket, ocpp_tls)
        app.config["OCPP"] = ocpp
    kafka = None
    if args.kafka:
        from cloud.central.kafka_io import KafkaIO

        kafka = KafkaIO(fleet, _bootstrap(*args.kafka)).start()
    signals.shut_down_on_signals(httpd, log)
    shown = token if not args.admin_token else "(as configured)"
    print(f"dashboard: http://{http_host}:{http_port}/  admin token: {shown}", flush=True)
    log.info("Central up: CPs on %s:%s, HTTP on %s:%s%s", cp_host, cp_port, http_host, http_port,
             f", Kafka at {_bootstrap(*args.kafka)}" if args.kafka else "")
    systemd.ready(f"CPs on {cp_host}:{cp_port}, HTTP on {http_host}:{http_port}")
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        systemd.stopping()
        httpd.server_close()
        if kafka is not None:
            kafka.stop()
        if ocpp is not None:
            ocpp.stop()
        server.stop()
        store.close()
        log.info("Central stopped")
    return 0


def _ocpp_tls(args: argparse.Namespace):
    """The OCPP endpoint's TLS context (security profile 2), None for plain ws://."""
    if not (args.ocpp_tls_cert or args.ocpp_tls_key):
        return None
    if not (args.ocpp_tls_cert and args.ocpp_tls_key):
        config.fail("--ocpp-tls-cert and --ocpp-tls-key go together", PROG)
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(args.ocpp_tls_cert, args.ocpp_tls_key)
    except (OSError, ssl.SSLError) as error:
        config.fail(f"cannot load the OCPP TLS certificate or key: {error}", PROG)
    return context


def _ocpp(fleet, sock, tls):
    """The OCPP 1.6J endpoint on its bound socket, started."""
    from cloud.central.ocpp.server import OcppServer

    endpoint = OcppServer(fleet, sock=sock, tls=tls).start()
    print(f"OCPP 1.6J endpoint: {endpoint.url}<cp_id>", flush=True)
    return endpoint


def _bootstrap(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


if __name__ == "__main__":
    sys.exit(main())
