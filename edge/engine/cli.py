"""``ev-cp-e``: the Engine service, and ``ev-cp-e panel ...``, its front-panel client."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from edge.engine import hardware, selftest
from edge.engine.cardreader import CardReader, driver_for
from edge.engine.console import Console
from edge.engine.journal import Journal
from edge.engine.meter import DEFAULT_POWER_KW, Meter
from edge.engine.monitor_link import SerialLink, monitor_listener
from edge.engine.outbox import DEFAULT_MAX_ROWS, Outbox
from edge.engine.panel import PanelServer, PanelUnreachable, VirtualPanel, request
from edge.engine.service import Engine, run_ticks
from edge.engine.uplink import Uplink
from edge.engine.vehicle import Vehicle
from protocol.messages import BUTTONS, CP_ID, DRIVER_ID
from runtime import config, logs, systemd
from runtime.entry import console_script
from runtime.terminal import StatusLine

log = logging.getLogger("edge.engine")


@console_script
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["panel"]:
        return panel_main(argv[1:])
    if argv[:1] == ["selftest"]:
        return selftest.main(argv[1:])
    args = _parse(argv)
    status = StatusLine()
    logs.setup(status=status)
    try:
        return _run(args, status)
    except OSError as error:
        sys.stderr.write(f"ev-cp-e: error: {error}\n")
        return 1


# -- the service ---------------------------------------------------------------
def _parser() -> config.Parser:
    parser = config.Parser(prog="ev-cp-e", description="Charging point Engine")
    parser.add_argument("--cp-id", required=False, help="this charging point's id")
    link = parser.add_mutually_exclusive_group()
    link.add_argument("--listen", metavar="HOST:PORT", type=config.address,
                      help="monitor link (default 127.0.0.1:6000)")
    link.add_argument("--serial", metavar="URL", help="monitor link over pyserial")
    parser.add_argument("--panel", metavar="HOST:PORT", type=config.address,
                        help="virtual front panel")
    parser.add_argument("--state-dir", metavar="DIR", default="state", help="journal folder")
    parser.add_argument("--power-kw", metavar="KW", default=str(DEFAULT_POWER_KW),
                        type=config.decimal_in("0", "1000"), help="simulated charging power")
    parser.add_argument("--meter-speed", metavar="N", default="1",
                        type=config.decimal_in("0", "3600"),
                        help="simulated meter: N seconds of supply per real second "
                        "(default 1; the demo runs 60)")
    parser.add_argument("--pins", metavar="MAP", default="", help='e.g. "green=17,relay=24"')
    parser.add_argument("--pin-factory", choices=hardware.FACTORIES,
                        help="gpiozero pin factory (default: gpiozero's choice, or "
                        "GPIOZERO_PIN_FACTORY); mock on a machine without GPIO")
    parser.add_argument("--card-reader", metavar="URL", help="RDM6300 RFID reader, e.g. "
                        "/dev/serial0 (9600 baud); card AB.. asks for driver CARD-AB..")
    parser.add_argument("--mqtt", metavar="HOST:PORT", type=config.address,
                        help="MQTT broker for the data plane")
    parser.add_argument("--mqtt-user", metavar="USER", help="MQTT user (default: the CP id "
                        "when a password file is given)")
    parser.add_argument("--mqtt-password-file", metavar="PATH", help="MQTT password file")
    parser.add_argument("--mqtt-cafile", metavar="PATH", help="connect to MQTT over TLS, "
                        "trusting this CA certificate (the broker's name is checked)")
    parser.add_argument("--outbox-max", metavar="ROWS", type=int, default=DEFAULT_MAX_ROWS,
                        help="outbox bound; the oldest telemetry is shed first")
    parser.add_argument("--vehicle-sim", metavar="SECONDS", type=float, default=0.0,
                        help="simulated vehicle: plug in after authorization, unplug after "
                        "SECONDS of supply (0 = off)")
    return parser


def _parse(argv: list[str]):
    parser = _parser()
    args = config.parse(parser, argv, "engine")
    if not args.cp_id or not CP_ID.match(args.cp_id):
        parser.error("--cp-id is required: letters, digits, '_', '.', '-' (up to 64)")
    if not args.serial:
        args.listen = args.listen or "127.0.0.1:6000"
    if args.outbox_max < 1:
        parser.error("--outbox-max must be at least 1")
    if not 0 <= args.vehicle_sim <= 86400:
        parser.error("--vehicle-sim must be between 0 and 86400 seconds")
    args.mqtt_password = None
    if args.mqtt_cafile and not args.mqtt:
        parser.error("--mqtt-cafile needs --mqtt")
    args.mqtt_tls = config.read_tls_ca(args.mqtt_cafile, parser.prog) if args.mqtt_cafile else None
    if args.mqtt_password_file:
        args.mqtt_password = config.read_secret_file(args.mqtt_password_file,
                                                     "password file", parser.prog)
    try:
        args.pins = hardware.parse_pins(args.pins)
    except ValueError as error:
        parser.error(f"--pins: {error}")
    state_dir = Path(args.state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"--state-dir {state_dir}: {error.strerror}")
    if not os.access(state_dir, os.R_OK | os.W_OK | os.X_OK):
        parser.error(f"--state-dir {state_dir}: not readable and writable")
    return args


def _run(args, status: StatusLine) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # set from another thread: see StopRequest
        signal.signal(signum, lambda *_: threading.Thread(target=stop.set, daemon=True).start())
    try:
        devices = hardware.build(args.pins, args.pin_factory)
    except hardware.NoGpio as error:
        config.fail(str(error), "ev-cp-e")
    try:
        journal = Journal(Path(args.state_dir) / "journal.db")
    except Exception as error:  # noqa: BLE001 - sqlite3 errors: one line, exit 2
        config.fail(f"cannot open the journal in {args.state_dir}: {error}", "ev-cp-e")
    outbox = uplink = None
    if args.mqtt:
        try:
            outbox = Outbox(Path(args.state_dir) / "outbox.db", args.outbox_max)
        except Exception as error:  # noqa: BLE001 - sqlite3 errors: one line, exit 2
            config.fail(f"cannot open the outbox in {args.state_dir}: {error}", "ev-cp-e")
        uplink = Uplink(args.cp_id, args.mqtt, outbox, username=args.mqtt_user,
                        password=args.mqtt_password, tls=args.mqtt_tls)
    vehicle = Vehicle(args.vehicle_sim) if args.vehicle_sim else None
    meter = Meter(args.power_kw, args.meter_speed)
    engine = Engine(args.cp_id, journal, devices, meter, uplink=uplink, vehicle=vehicle)
    panel = VirtualPanel(engine)
    engine.start()
    if uplink:
        uplink.start()
    shells = []
    try:
        if args.panel:
            shells.append(_listening("--panel", args.panel, lambda: PanelServer(
                args.panel, args.cp_id, panel.act).start()))
        if args.serial:
            shells.append(SerialLink(args.serial, engine, threading.Event()).start())
        else:
            shells.append(_listening("--listen", args.listen,
                                     lambda: monitor_listener(args.listen, engine)))
        if args.card_reader:
            shells.append(CardReader(args.card_reader, lambda card: engine.feed(
                engine.machine.press_request, "card", driver_for(card))).start())
        console = Console(engine, panel, stop, status)
        console.start_keyboard()
        systemd.ready(f"engine {args.cp_id} serving")  # links listening, journal recovered
        run_ticks(engine, stop, console.show, systemd.Watchdog())
    finally:
        systemd.stopping()
        for shell in shells:
            shell.close()
        engine.shutdown()
        if uplink and outbox:
            uplink.close()
            outbox.close()
        devices.close()
        journal.close()
        status.close()
        log.info("engine %s stopped", args.cp_id)
    return 0


def _listening(flag: str, address: str, start):
    """``start()`` a listener; a taken port is one line and exit code 2."""
    try:
        return start()
    except OSError as error:
        why = os.strerror(error.errno) if error.errno else str(error)
        config.fail(f"cannot listen on {address} ({flag}): {why}", "ev-cp-e")


# -- the panel client --------------------------------------------------------------
def panel_main(argv: list[str]) -> int:
    parser = config.Parser(prog="ev-cp-e panel", description="Press the engine's buttons")
    parser.add_argument("--panel", metavar="HOST:PORT", type=config.address, required=True,
                        help="the engine's panel")
    parser.add_argument("--driver", metavar="ID", help="driver id for a request")
    parser.add_argument("action", choices=("press", "release", "status"))
    parser.add_argument("button", nargs="?", choices=BUTTONS)
    args = parser.parse_args(argv)
    if args.action != "status" and not args.button:
        parser.error(f"{args.action} needs a button: {', '.join(BUTTONS)}")
    if args.driver and not DRIVER_ID.match(args.driver):
        parser.error(f"bad driver id {args.driver!r}")
    try:
        status = request(args.panel, args.action, args.button, args.driver)
    except PanelUnreachable:
        sys.stderr.write(f"cannot reach panel at {args.panel}\n")
        return 1
    if args.action != "status":
        done = {"press": "pressed", "release": "released"}[args.action]
        print(f"{done} {args.button}: {status.get('state')}")
    print(json.dumps(status, sort_keys=True))
    return 0
