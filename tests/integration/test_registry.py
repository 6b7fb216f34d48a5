"""A real ``ev-registry`` process over HTTPS, with certificates from its own CA tool
(``ev-registry ca``), sharing its SQLite file with a Central CP server.

Every client here dials from its own loopback source address (127.0.0.N), so that the
per-address limit on failed attempts of one test does not reach the others.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from cloud.central.cp_server import CpServer
from cloud.central.fleet import Fleet
from cloud.central.store import Store
from protocol import messages as m
from tests.integration.test_cp_server import FakeMonitor
from tests.support import BIN, free_port, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration

TOKEN = "enrol-5kq2-Vb8w-site-token"
BODY = {"location": "Car park A, bay 1", "price_eur_kwh": 0.35}


def ev_registry(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ev-registry"), *args], capture_output=True, text=True,
                          timeout=30)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site CA, the registry's certificate, a CP's client certificate, and a
    stranger CA with a client certificate of the same CP."""
    folder = tmp_path_factory.mktemp("site")
    for args in (("ca", "init", "--dir", str(folder / "ca")),
                 ("ca", "issue", "--dir", str(folder / "ca"), "--name", "127.0.0.1",
                  "--name", "localhost"),
                 ("ca", "issue", "--dir", str(folder / "ca"), "--client", "--name", "CP-TLS"),
                 ("ca", "init", "--dir", str(folder / "stranger"), "--name", "Stranger CA"),
                 ("ca", "issue", "--dir", str(folder / "stranger"), "--client", "--name",
                  "CP-TLS")):
        result = ev_registry(*args)
        assert result.returncode == 0, result.stderr
    (folder / "token").write_text(TOKEN + "\n")
    return folder


class Registry:
    def __init__(self, folder: Path, site: Path) -> None:
        self.port = free_port()
        self.db = folder / "central.db"
        self.log_path = folder / "registry.log"
        self.site = site
        self.process = spawn(["ev-registry", "--listen", f"127.0.0.1:{self.port}", "--db",
                              str(self.db), "--tls-cert", str(site / "ca" / "127.0.0.1.crt"),
                              "--tls-key", str(site / "ca" / "127.0.0.1.key"),
                              "--client-ca", str(site / "ca" / "ca.crt"),
                              "--enroll-token-file", str(site / "token")], self.log_path)
        wait_port(self.port, 15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, method: str, cp_id: str, body: object = None, *, token: str | None = TOKEN,
             cert: str | None = None, source: str = "127.0.0.1", raw: bytes | None = None,
             suffix: str = "", host: str = "127.0.0.1") -> tuple[int, dict, dict]:
        context = ssl.create_default_context(cafile=str(self.site / "ca" / "ca.crt"))
        if cert:
            folder = self.site / cert
            context.load_cert_chain(folder / "CP-TLS.crt", folder / "CP-TLS.key")
        conn = http.client.HTTPSConnection(host, self.port, context=context, timeout=10,
                                           source_address=(source, 0))
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body else None)
        try:
            conn.request(method, f"/api/v1/cps/{cp_id}{suffix}", body=data, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.headers), json.loads(response.read())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, site):
    registry = Registry(tmp_path_factory.mktemp("registry"), site)
    yield registry
    stop(registry.process)
    assert "Traceback" not in registry.log()


class Central:
    """Central's fleet and CP server on the registry's database, as on a site's server."""

    def __init__(self, db: Path) -> None:
        self.store = Store(str(db))
        self.fleet = Fleet(self.store)
        self.server = CpServer(self.fleet, "127.0.0.1", 0).start()
        host, port = self.server.address
        self.address = f"{host}:{port}"


@pytest.fixture(scope="module")
def central(registry):
    central = Central(registry.db)
    yield central
    central.server.stop()
    central.store.close()


def login(central: str, cp_id: str, secret: str) -> m.Message:
    monitor = FakeMonitor(central, cp_id)
    try:
        return monitor.login(secret)
    finally:
        monitor.close()


def audit(registry, cp_id: str | None = None) -> list[tuple[str, str]]:
    store = Store(str(registry.db))
    try:
        return [(row["action"], f"{row['actor']}@{row['source']}")
                for row in reversed(store.audit_log(500, cp_id))]
    finally:
        store.close()


def test_a_cp_registered_over_https_logs_in_to_central_with_what_it_got(registry, central):
    status, headers, body = registry.call("PUT", "CP-1", BODY, source="127.0.0.2")
    assert status == 201 and headers["Cache-Control"] == "no-store"
    assert isinstance(login(central.address, "CP-1", body["secret"]), m.Welcome)
    status, _, rotated = registry.call("POST", "CP-1", suffix="/credentials", source="127.0.0.2")
    assert status == 200
    assert isinstance(login(central.address, "CP-1", body["secret"]), m.Refused)  # the old one
    assert isinstance(login(central.address, "CP-1", rotated["secret"]), m.Welcome)
    status, _, state = registry.call("GET", "CP-1", source="127.0.0.2")
    assert (status, state["location"], state["price_eur_kwh"]) == (200, BODY["location"], "0.35")
    assert rotated["secret"] not in json.dumps(state) and "secret" not in state
    assert registry.call("DELETE", "CP-1", source="127.0.0.2")[0] == 200
    # deregistration is in the shared database: Central refuses the CP from now on
    listing = subprocess.run([str(BIN / "ev-central"), "cp", "list", "--db", str(registry.db)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    assert "CP-1\t" not in listing
    assert isinstance(login(central.address, "CP-1", rotated["secret"]), m.Refused)
    status, _, body = registry.call("GET", "CP-1", source="127.0.0.2")
    assert (status, body) == (404, {"error": "CP CP-1 is not registered"})
    by_registry = [row for row in audit(registry, "CP-1") if row[1].startswith("registry@")]
    assert by_registry == [("registered", "registry@127.0.0.2"),
                           ("credentials rotated", "registry@127.0.0.2"),
                           ("deregistered", "registry@127.0.0.2")]


def test_a_new_location_and_price_from_the_registry_reach_a_running_central(registry,
                                                                             central):
    assert registry.call("PUT", "CP-5", BODY, source="127.0.0.2")[0] == 201
    wait_for(lambda: central.fleet.cp("CP-5") is not None, 5)  # its sweep, every 0.2 s
    moved = {"location": "Car park B, bay 7", "price_eur_kwh": "0.42"}
    assert registry.call("PUT", "CP-5", moved, source="127.0.0.2")[0] == 200
    wait_for(lambda: central.fleet.cp("CP-5")["location"] == moved["location"], 5)
    assert central.fleet.cp("CP-5")["price_eur_kwh"] == "0.42"


def test_mutual_tls_registers_its_own_cp_only(registry):
    status, _, body = registry.call("PUT", "CP-TLS", BODY, token=None, cert="ca",
                                    source="127.0.0.3")
    assert status == 201 and body["cp_id"] == "CP-TLS"
    status, _, body = registry.call("PUT", "CP-OTHER", BODY, token=None, cert="ca",
                                    source="127.0.0.3")
    assert (status, body) == (403, {"error": "the client certificate is for CP 'CP-TLS', "
                                             "not 'CP-OTHER'"})


def test_a_certificate_from_another_ca_fails_the_handshake_and_is_audited(registry):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        registry.call("GET", "CP-TLS", token=None, cert="stranger", source="127.0.0.4")
    wait_for(lambda: ("auth failed", "cp@127.0.0.4") in audit(registry), 5)
    wait_for(lambda: "client certificate not trusted" in registry.log(), 5)  # its own line


@pytest.mark.parametrize("token, status, reason", [
    (None, 401, "no credentials"),
    ("not-the-token", 403, "wrong enrollment token"),
])
def test_wrong_or_no_token_is_refused_with_a_reason(registry, token, status, reason):
    got, headers, body = registry.call("PUT", "CP-X", BODY, token=token, source="127.0.0.5")
    assert got == status and reason in body["error"]
    assert registry.call("GET", "CP-X", source="127.0.0.6")[0] == 404  # nothing registered


@pytest.mark.parametrize("raw, status, reason", [
    (json.dumps({**BODY, "cp_id": "CP-Y"}).encode(), 400,
     "the CP id in the body ('CP-Y') differs from the path ('CP-B')"),
    (b'{"location": "x", "price_eur_kwh": ', 400, "body is not valid JSON"),
    (b"[1, 2, 3]", 400, "body must be a JSON object"),
    (json.dumps({"location": "x" * 10000, "price_eur_kwh": 1}).encode(), 413, "body too large"),
    (json.dumps({"location": "x", "price_eur_kwh": -1}).encode(), 400, "non-negative"),
])
def test_bad_bodies_are_a_clear_4xx(registry, raw, status, reason):
    got, _, body = registry.call("PUT", "CP-B", raw=raw, source="127.0.0.7")
    assert (got, reason in body["error"]) == (status, True), body
    assert registry.call("GET", "CP-B", source="127.0.0.7")[0] == 404


def test_unknown_cp_is_404_for_every_operation(registry):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/credentials")):
        got, _, body = registry.call(method, "CP-NONE", suffix=suffix, source="127.0.0.8")
        assert (got, body) == (404, {"error": "CP CP-NONE is not registered"})


def test_failed_attempts_are_rate_limited_with_retry_after(registry):
    for _ in range(5):
        assert registry.call("GET", "CP-R", token="guess", source="127.0.0.9")[0] == 403
    status, headers, body = registry.call("GET", "CP-R", source="127.0.0.9")  # right token
    assert status == 429 and 50 <= int(headers["Retry-After"]) <= 60
    assert "too many failed attempts from 127.0.0.9" in body["error"]
    assert registry.call("GET", "CP-R", source="127.0.0.10")[0] == 404  # others go on


def test_plain_http_is_told_to_use_https(registry):
    with socket.create_connection(("127.0.0.1", registry.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/cps/CP-1 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.0 400 ") and b"use https://" in answer


def test_a_wrong_host_name_is_refused_by_the_client(registry):
    """The certificate names 127.0.0.1 and localhost only."""
    with socket.create_connection(("127.0.0.1", registry.port), timeout=5) as raw:
        context = ssl.create_default_context(cafile=str(registry.site / "ca" / "ca.crt"))
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            context.wrap_socket(raw, server_hostname="registry.example.net")
    assert registry.call("GET", "CP-H", host="localhost", source="127.0.0.11")[0] == 404


@pytest.mark.parametrize("args, message", [
    ([], "HTTPS only: --tls-cert and --tls-key are required"),
    (["--tls-cert", "{ca}/127.0.0.1.crt", "--tls-key", "{ca}/CP-TLS.key",
      "--enroll-token-file", "{site}/token"], "--tls-cert/--tls-key unusable"),
    (["--tls-cert", "{ca}/127.0.0.1.crt", "--tls-key", "{ca}/127.0.0.1.key"],
     "give --enroll-token-file, --client-ca or both"),
    (["--tls-cert", "{ca}/nothing.crt", "--tls-key", "{ca}/127.0.0.1.key",
      "--enroll-token-file", "{site}/token"], "cannot read"),
    (["--tls-cert", "{ca}/127.0.0.1.crt", "--tls-key", "{ca}/127.0.0.1.key",
      "--enroll-token-file", "{site}/short"], "too short"),
    (["--tls-cert", "{ca}/127.0.0.1.crt", "--tls-key", "{ca}/127.0.0.1.key",
      "--enroll-token-file", "{site}/token", "--listen", "127.0.0.1:{busy}"],
     "cannot listen on 127.0.0.1:"),
])
def test_bad_settings_are_one_line_and_exit_2(site, tmp_path, args, message):
    (site / "short").write_text("abc\n")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        values = {"ca": site / "ca", "site": site, "busy": busy.getsockname()[1]}
        result = ev_registry("--db", str(tmp_path / "c.db"),
                             *[arg.format(**values) for arg in args])
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert TOKEN not in result.stderr


def test_ca_tool_never_overwrites_and_writes_keys_0600(site):
    again = ev_registry("ca", "init", "--dir", str(site / "ca"))
    assert again.returncode == 2 and "exists: not overwritten" in again.stderr
    for name in ("ca.key", "127.0.0.1.key", "CP-TLS.key"):
        assert os.stat(site / "ca" / name).st_mode & 0o777 == 0o600
    missing = ev_registry("ca", "issue", "--dir", str(site / "nowhere"), "--name", "x")
    assert missing.returncode == 2 and "run `ev-registry ca init" in missing.stderr
