"""``ev-cp-m --ocpp ws(s)://CSMS/PATH/<cp_id>``: the monitor as an OCPP 1.6J charge point.

Its flags beside the monitor's: ``--ocpp URL`` (the central system's URL for this CP; the
last part of its path is by custom the CP's identity), ``--ocpp-password-file F`` (HTTP
Basic authentication, user = the CP id: OCPP security profiles 1 and 2), ``--ca FILE``
(the CA a wss:// central system's certificate must chain to; the system's CAs without
it), ``--state-dir DIR`` (``ocpp.db``: the queue of transaction messages and the
configuration) and ``--price`` (the EUR/kWh the engine bills with; OCPP 1.6 carries no
tariff).  A bad one is one line and exit code 2, so is a certificate the CP does not
trust.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

from runtime import config, systemd
from runtime.signals import StopRequest

from .display import MonitorStatus
from .ocpp_link import LinkError, check_url
from .ocpp_service import OcppMonitor
from .ocpp_store import OcppStore

log = logging.getLogger(__name__)


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocpp", metavar="URL", help="talk OCPP 1.6J to this central system "
                        "(ws://... or wss://.../<cp_id>) instead of the framed protocol to "
                        "Central")
    parser.add_argument("--ocpp-password-file", metavar="FILE",
                        help="the CP's OCPP password (HTTP Basic auth, user = the CP id)")
    parser.add_argument("--ocpp-call-timeout", metavar="S", type=config.decimal_in("0", "600"),
                        default="30", help="with --ocpp: seconds to wait for the answer to a "
                        "call before going on (default 30)")
    parser.add_argument("--state-dir", metavar="DIR", default="state",
                        help="with --ocpp: folder of ocpp.db, the queue of transaction "
                        "messages (default ./state)")


def run(prog: str, args: argparse.Namespace, display: MonitorStatus) -> int:
    try:
        context = check_url(args.ocpp, args.ca)
    except LinkError as error:
        config.fail(str(error), prog)
    if args.control:
        config.fail("--control (re-authentication with Central) does not apply with --ocpp",
                    prog)
    password = None
    if args.ocpp_password_file:
        password = config.read_secret_file(args.ocpp_password_file, "OCPP password file", prog)
    state_dir = Path(args.state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        store = OcppStore(state_dir / "ocpp.db")
    except (OSError, sqlite3.Error) as error:
        config.fail(f"cannot open {state_dir / 'ocpp.db'} (--state-dir): "
                    f"{getattr(error, 'strerror', None) or error}", prog)
    stop = StopRequest()
    stopping = stop.event
    fatal: list[str] = []

    def on_fatal(text: str) -> None:
        fatal.append(text)
        threading.Thread(target=stopping.set, daemon=True).start()

    monitor = OcppMonitor(
        cp_id=args.cp_id, engine=args.engine or args.serial, serial=bool(args.serial),
        url=args.ocpp, password=password, context=context, store=store,
        price=args.price if args.price is not None else Decimal(0), display=display,
        on_fatal=on_fatal, call_timeout=float(args.ocpp_call_timeout),
    ).start()
    systemd.ready(f"monitor {args.cp_id} running (OCPP 1.6J)")
    while not stopping.wait(0.5):
        pass
    if not fatal:
        log.info("stopping on %s", stop.name or "request")
    systemd.stopping()
    monitor.stop()
    if fatal:
        config.fail(fatal[0], prog)
    return 0
