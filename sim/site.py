"""The demo's site: a site CA, the registry's server certificate, the enrollment token,
and the registry itself over HTTPS, through which every demo CP registers.

The CA is made in-process with :mod:`cloud.registry.ca` (what ``ev-registry ca init``
and ``ca issue`` do); the CPs register with ``ev-cp-m register``, as a person or Ansible
would, and log in with the secret the registry returned.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cloud.registry import ca
from sim.fleet import SimulatedCP
from sim.network import Network, wait_port

REGISTRY_PORT = 8443
HOSTS = ["127.0.0.1", "localhost"]


@dataclass(frozen=True)
class Site:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def token_file(self) -> Path:
        return self.folder / "enroll.token"

    def create(self) -> Site:
        """The CA, the registry's certificate and the token; kept when the folder has
        them already (a ``--workdir`` used before)."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        now = datetime.now(UTC)
        if not (self.folder / "ca.key").exists():
            authority = ca.new_ca("evcharging demo site CA", now)
            ca.write_private(self.folder / "ca.key", ca.pem_key(authority.key))
            ca.write_public(self.ca_cert, ca.pem_cert(authority.cert))
        if not self._server("crt").exists():
            issued = ca.issue_server(ca.load_ca(self.folder), HOSTS, now)
            ca.write_private(self._server("key"), ca.pem_key(issued.key))
            ca.write_public(self._server("crt"), ca.pem_cert(issued.cert))
        if not self.token_file.exists():
            ca.write_private(self.token_file, secrets.token_urlsafe(32).encode() + b"\n")
        return self

    def _server(self, suffix: str) -> Path:
        return self.folder / f"{HOSTS[0]}.{suffix}"

    def start_registry(self, network: Network, db: Path) -> None:
        process = network.start("registry", [
            "ev-registry", "--listen", f"127.0.0.1:{self.port}", "--db", str(db),
            "--tls-cert", str(self._server("crt")), "--tls-key", str(self._server("key")),
            "--enroll-token-file", str(self.token_file)])
        wait_port(self.port, 30, "the registry", process, network.logs / "registry.log")

    def flags(self) -> list[str]:
        """What ``ev-cp-m register`` needs to reach and convince the registry."""
        return ["--registry", self.url, "--ca", str(self.ca_cert),
                "--enroll-token-file", str(self.token_file)]

    def register(self, network: Network, cps: list[SimulatedCP], secrets_dir: Path) -> None:
        """Each CP registers itself (two at a time: each is a Python process starting)."""
        def one(cp: SimulatedCP) -> None:
            secret_file = secrets_dir / f"{cp.cp_id}.secret"
            if secret_file.exists():  # a --workdir used before: registered already
                return
            network.run(["ev-cp-m", "register", *self.flags(), "--cp-id", cp.cp_id,
                         "--location", cp.location, "--price", str(cp.price),
                         "--secret-file", str(secret_file)])

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(one, cps))
