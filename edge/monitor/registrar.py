"""Registering this CP with the site's registry, for ``ev-cp-m register``/``deregister``
and the monitor's terminal keys ``r`` and ``d``: the registry client
(:mod:`edge.monitor.registration`) plus this CP's details and its secret file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal

from runtime import config

from .registration import (
    Registry,
    RegistryError,
    SecretFile,
    client_context,
    deregister,
    https_address,
    register,
)


@dataclass(frozen=True)
class Result:
    text: str  # one line for a person; never the secret
    secret: str | None = None  # a new CP's secret, already in its file


@dataclass(frozen=True)
class Registrar:
    registry: Registry
    cp_id: str
    location: str | None
    price: Decimal | None
    secret_file: str

    def register(self) -> Result:
        if not self.location:
            raise RegistryError("--location is required to register (where the CP is)")
        if self.price is None:
            raise RegistryError("--price is required to register (EUR per kWh, e.g. 0.35)")
        secret_file = SecretFile(self.secret_file).prepare()
        try:
            done = register(self.registry, self.cp_id, self.location, self.price)
            if not done.created:
                secret_file.discard()
                return Result(f"CP {self.cp_id} was registered already: location and price "
                              f"updated, its secret unchanged ({self.secret_file} untouched)")
            secret_file.write(done.secret)
        except BaseException:
            secret_file.discard()
            raise
        return Result(f"registered CP {self.cp_id}; its secret is in {self.secret_file} "
                      "(mode 0600)", done.secret)

    def deregister(self) -> Result:
        deregister(self.registry, self.cp_id)
        return Result(f"deregistered CP {self.cp_id}: it can no longer log in to Central")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The registry's flags: optional for the monitor (its terminal keys r and d),
    needed by ``register`` and ``deregister``."""
    parser.add_argument("--registry", metavar="URL",
                        help="the site's registry, https://HOST:PORT (terminal keys r, d)")
    parser.add_argument("--ca", metavar="FILE", help="the site CA the registry's certificate "
                        "must chain to (with --ocpp: the wss:// central system's)")
    parser.add_argument("--enroll-token-file", metavar="FILE",
                        help="the site's enrollment token (or --cert and --key)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (CN = the CP id)")
    parser.add_argument("--key", metavar="FILE", help="the client certificate's private key")
    parser.add_argument("--price", metavar="EUR_PER_KWH", type=config.decimal_in("0", "100"),
                        help="the CP's price, for registering it (with --ocpp: the EUR/kWh "
                        "the engine bills at)")


def from_args(args: argparse.Namespace, prog: str) -> Registrar | None:
    """The registrar the flags describe (None without ``--registry``); a missing or bad
    one is one line and exit code 2."""
    if not args.registry:
        for flag in ("ca", "enroll_token_file", "cert", "key"):
            if getattr(args, flag):
                config.fail(f"--{flag.replace('_', '-')} needs --registry", prog)
        return None
    try:
        host, port = https_address(args.registry)
        if not args.ca:
            raise RegistryError("--registry needs --ca (the site CA's certificate)")
        if bool(args.enroll_token_file) == bool(args.cert or args.key):
            raise RegistryError("give the registry --enroll-token-file, or --cert and --key")
        context = client_context(args.ca, args.cert, args.key)
    except RegistryError as error:
        config.fail(str(error), prog)
    token = None
    if args.enroll_token_file:
        token = config.read_secret_file(args.enroll_token_file, "enrollment token file", prog)
    secret_file = args.secret_file or f"{args.cp_id}.secret"
    return Registrar(Registry(host, port, context, token), args.cp_id, args.location,
                     args.price, secret_file)
