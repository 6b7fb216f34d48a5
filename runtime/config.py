"""Flags, config file and environment, in that order of precedence.

Every flag can also come from ``/etc/evcharging/<service>.toml`` (or ``--config``)
and from an ``EV_<FLAG>`` environment variable; flags win.  Errors are one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import ssl
import sys
import tomllib
from pathlib import Path
from typing import NoReturn

CONFIG_DIR = Path("/etc/evcharging")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, and an unknown flag named as such (plain argparse
    takes ``ev-central --port abc`` for a sub-command ``abc`` and complains about that)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        self._check_flags(sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)

    def _check_flags(self, argv: list[str]) -> None:
        known = _flags(self)
        for token in argv:
            if token == "--":
                return
            name = token.split("=", 1)[0]
            if not name.startswith("--") or any(flag.startswith(name) for flag in known):
                continue  # a value, or a flag argparse knows (or abbreviates)
            close = difflib.get_close_matches(name, known, 1, cutoff=0.75)
            self.error(f"unknown flag {name}" + (f" (did you mean {close[0]}?)" if close else ""))


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    """Every --flag of ``parser`` and of its sub-commands."""
    flags = []
    for action in parser._actions:
        flags += [f for f in action.option_strings if f.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags += _flags(sub)
    return flags


def fail(message: str, prog: str | None = None) -> NoReturn:
    """One-line error and exit code 2, for bad flags or config found after parsing."""
    sys.stderr.write(f"{prog or Path(sys.argv[0]).name}: error: {message}\n")
    raise SystemExit(2)


def parse(
    parser: argparse.ArgumentParser, argv: list[str] | None, service: str
) -> argparse.Namespace:
    """Parse ``argv`` with defaults from the config file and ``EV_*`` variables."""
    argv = sys.argv[1:] if argv is None else argv
    parser.add_argument(
        "--config", metavar="PATH", help=f"TOML file (default {CONFIG_DIR}/{service}.toml)"
    )
    known, _ = _config_flag(argv)
    dests = {a.dest: a for a in parser._actions if a.dest not in ("help", "config")}
    defaults = {}
    path = Path(known) if known else CONFIG_DIR / f"{service}.toml"
    if known or path.exists():
        defaults.update(_from_file(parser, path, dests))
    for dest in dests:
        value = os.environ.get(f"EV_{dest.upper()}")
        if value is not None:
            defaults[dest] = _coerce(dests[dest], value)
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def _config_flag(argv: list[str]) -> tuple[str | None, list[str]]:
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1], argv
        if arg.startswith("--config="):
            return arg.split("=", 1)[1], argv
    return None, argv


def _from_file(parser: argparse.ArgumentParser, path: Path, dests: dict) -> dict:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        parser.error(f"cannot read config {path}: {error.strerror}")
    except tomllib.TOMLDecodeError as error:
        parser.error(f"config {path} is not valid TOML: {error}")
    out = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        if dest not in dests:
            parser.error(f"config {path}: unknown setting {key!r}")
        out[dest] = _coerce(dests[dest], value)
    return out


def _coerce(action: argparse.Action, value: object) -> object:
    """Values from files and the environment go through the flag's own type."""
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes", "on")
    if action.type is not None and not isinstance(value, bool):
        return str(value)  # argparse converts string defaults with the flag's type
    return value


def address(text: str) -> str:
    """An argparse ``type`` for ``HOST:PORT`` flags: checked, kept as text."""
    from protocol.transport import parse_address

    try:
        parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def decimal_in(low: str, high: str):
    """An argparse ``type`` for a decimal flag in ``(low, high]``: a ``Decimal``."""
    from decimal import Decimal, InvalidOperation

    def parse(text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value.is_finite() or not Decimal(low) < value <= Decimal(high):
            raise argparse.ArgumentTypeError(f"must be more than {low} and at most {high}")
        return value

    return parse


def read_secret_file(path: str, what: str, prog: str) -> str:
    """The stripped text of a secret or password file; one-line error and exit 2 when it
    cannot be read, is not UTF-8 or is empty."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        fail(f"cannot read {what} {path}: {error.strerror or error}", prog)
    except UnicodeDecodeError:
        fail(f"{what} {path} is not UTF-8 text", prog)
    if not text:
        fail(f"{what} {path} is empty", prog)
    return text


def read_tls_ca(path: str, prog: str) -> ssl.SSLContext:
    """A TLS client context that trusts only the CA certificate(s) in ``path`` and checks
    the server's host name; one-line error and exit 2 when the file is not a CA bundle."""
    try:
        return ssl.create_default_context(cafile=path)
    except FileNotFoundError as error:
        fail(f"cannot read CA file {path}: {error.strerror}", prog)
    except (OSError, ssl.SSLError, ValueError) as error:
        fail(f"CA file {path} holds no usable certificate: {error}", prog)
