"""``ev-weather``: the weather office.

    ev-weather --central URL --token-file F --locations FILE
               [--provider openweather|sim] [--api-key-file F] [--provider-url URL]
               [--every S] [--threshold C] [--sim-file F]
    ev-weather set CITY TEMP [--sim-file F]

Every ``--every`` seconds (default 4) it reads the temperature of each location in the
locations file; below ``--threshold`` (default 0 C) it raises an alert for the location
at Central (``PUT /api/alerts/<location>`` with the service token), at or above it
clears it; on missing data it does neither.  The OpenWeather API key comes from
``--api-key-file`` or ``EV_OPENWEATHER_KEY`` and is never logged.  ``--provider sim``
reads temperatures from a JSON file (default ``weather-sim.json`` beside the locations
file) that ``ev-weather set Madrid -3`` rewrites.  On a terminal a menu adds, removes,
renames and lists locations.  Every flag also comes from ``/etc/evcharging/weather.toml``
and ``EV_*`` variables.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import sys
import urllib.parse
from contextlib import nullcontext
from decimal import Decimal, InvalidOperation
from pathlib import Path

from runtime import config, logs, systemd
from runtime.entry import console_script
from runtime.signals import StopRequest

from .providers import OPENWEATHER_URL, SIM_FILE

log = logging.getLogger("ev-weather")

PROG = "ev-weather"
KEY_VARIABLE = "EV_OPENWEATHER_KEY"


def build_parser(prog: str = PROG) -> config.Parser:
    parser = config.Parser(prog=prog, description="The weather office: raises a weather "
                           "alert at Central for each location below the threshold, "
                           "clears it at or above.",
                           epilog="ev-weather set CITY TEMP [--sim-file PATH]: the "
                           "temperature of CITY for --provider sim (the running office "
                           "sees it at its next round).")
    parser.add_argument("--central", metavar="URL", help="Central, http://HOST:PORT")
    parser.add_argument("--token-file", metavar="PATH",
                        help="file holding the weather office's service token")
    parser.add_argument("--locations", metavar="FILE", help="one location a line")
    parser.add_argument("--provider", choices=("openweather", "sim"), default="openweather",
                        help="where temperatures come from (default openweather)")
    parser.add_argument("--api-key-file", metavar="PATH", help="file holding the "
                        f"OpenWeather API key (or set {KEY_VARIABLE})")
    parser.add_argument("--provider-url", metavar="URL", default=OPENWEATHER_URL,
                        help=f"OpenWeather's base URL (default {OPENWEATHER_URL})")
    parser.add_argument("--every", metavar="S", type=float, default=4.0,
                        help="seconds between rounds (default 4)")
    parser.add_argument("--threshold", metavar="C", default="0",
                        help="alert below this temperature in C (default 0)")
    parser.add_argument("--sim-file", metavar="PATH", help="the sim provider's temperatures "
                        f"(default {SIM_FILE} beside the locations file)")
    return parser


def http_url(parser: config.Parser, flag: str, text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        parser.error(f"{flag} must be an http:// or https:// URL, not {text!r}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parser.error(f"{flag}: bad port in {text!r}")
    return text


def threshold(parser: config.Parser, text: str) -> Decimal:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        parser.error(f"--threshold must be a temperature in C, not {text!r}")
    if not value.is_finite() or not -100 <= value <= 70:
        parser.error("--threshold must be between -100 and 70 C")
    return value


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    for flag in ("central", "token_file", "locations"):
        if not getattr(args, flag):
            parser.error(f"--{flag.replace('_', '-')} is required")
    http_url(parser, "--central", args.central)
    http_url(parser, "--provider-url", args.provider_url)
    if not 0 < args.every <= 3600:
        parser.error("--every must be more than 0 and at most 3600 seconds")
    args.threshold = threshold(parser, args.threshold)
    logs.level()


def sim_file(args: argparse.Namespace) -> Path | None:
    if args.sim_file:
        return Path(args.sim_file)
    return Path(args.locations).parent / SIM_FILE if args.locations else None


@console_script
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["set"]:
        return set_temperature(argv[1:])
    parser = build_parser()
    args = config.parse(parser, argv, "weather")
    check(parser, args)
    token = config.read_secret_file(args.token_file, "token file", PROG)
    key = None
    if args.api_key_file:
        key = config.read_secret_file(args.api_key_file, "API key file", PROG)
    key = key or os.environ.get(KEY_VARIABLE, "").strip() or None
    return run(args, token, key)


def set_temperature(argv: list[str]) -> int:
    from .providers import set_sim_temperature

    parser = build_parser(f"{PROG} set")
    parser.add_argument("city", metavar="CITY")
    parser.add_argument("temperature", metavar="TEMP", help="in C, e.g. -3")
    args = config.parse(parser, argv, "weather")
    path = sim_file(args)
    if path is None:
        parser.error("--sim-file (or --locations) is required")
    city = " ".join(args.city.split())
    try:
        value = set_sim_temperature(path, city, args.temperature)
    except ValueError as error:
        parser.error(str(error))
    except OSError as error:
        config.fail(f"cannot write {path}: {error.strerror or error}", f"{PROG} set")
    print(f"{city}: {value} C (in {path})")
    return 0


def run(args: argparse.Namespace, token: str, key: str | None) -> int:
    from .central_client import CentralClient
    from .locations import LocationsFile
    from .providers import OpenWeather, SimProvider
    from .service import WeatherOffice

    locations = LocationsFile(Path(args.locations))
    try:
        names, problems = locations.read()
    except OSError as error:
        config.fail(f"cannot read locations {args.locations}: {error.strerror or error}", PROG)
    except UnicodeDecodeError:
        config.fail(f"locations {args.locations} is not UTF-8 text", PROG)
    live = sys.stdin.isatty() and sys.stdout.isatty()
    screen = _logging(live)
    for problem in problems:
        log.warning("%s: %s", args.locations, problem)
    if args.provider == "sim":
        provider = SimProvider(sim_file(args))
        log.info("provider sim: temperatures from %s", provider.path)
    else:
        provider = OpenWeather(key, args.provider_url)
        if key is None:
            log.error("no OpenWeather API key: give --api-key-file or set %s", KEY_VARIABLE)
    stop = _stop_request(live)
    office = WeatherOffice(provider, CentralClient(args.central, token), locations, names,
                           args.every, args.threshold, stop.event)
    office.begin()
    systemd.ready(f"weather office: {len(names)} locations, Central {args.central}")
    if live:
        _run_menu(office, screen)
    else:
        office.run()
    log.info("stopping on %s", stop.name or "quit")
    systemd.stopping()
    if screen is not None:
        screen.end()
    return 0


def _logging(live: bool):
    """Log lines to stderr; on a terminal, above the menu's status line and prompt."""
    if not live:
        logs.setup()
        return None
    from driver_app.screen import Screen, ScreenHandler

    screen = Screen(sys.stdout, live=True)
    handler = ScreenHandler(screen)
    handler.setFormatter(logging.Formatter(logs.FORMAT, "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logs.level())
    return screen


def _stop_request(live: bool) -> StopRequest:
    """SIGTERM and SIGINT stop the office; on a terminal SIGHUP too (it closed)."""
    if not live:
        return StopRequest()
    from driver_app.cli import stop_on_signals

    return stop_on_signals()


def _run_menu(office, screen) -> None:
    from driver_app.cli import suspend_on_ctrl_z
    from driver_app.keyboard import Keyboard

    from .menu import Menu

    menu = Menu(office, screen)
    office.on_round = menu.refresh
    commands: queue.Queue = queue.Queue()
    keyboard = Keyboard(sys.stdin.fileno(), screen, commands) if screen.live else None
    with keyboard or nullcontext():
        if keyboard is not None:
            suspend_on_ctrl_z(keyboard, screen)  # the terminal's own modes while stopped
        menu.begin()
        office.run(commands, menu.handle)


if __name__ == "__main__":
    raise SystemExit(main())
