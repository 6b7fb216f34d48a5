"""``ev-cp-m register`` and ``deregister`` (real processes) against a real local HTTPS
server speaking the registry's API (tests/integration/fake_registry.py): mutual TLS or an
enrollment token, the secret file written 0600, and every failure one clear line with
exit code 2, never a traceback, never the token or a secret."""

from __future__ import annotations

import socket
import stat
import subprocess
import threading

import pytest

from tests.integration.fake_registry import TOKEN, FakeRegistry
from tests.support import BIN

pytestmark = pytest.mark.integration

CP = "CP-REG-1"


@pytest.fixture
def registry(tmp_path):
    server = FakeRegistry(tmp_path / "pki")
    yield server
    server.close()


def ev_cp_m(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "ev-cp-m"), *args], capture_output=True, text=True,
                          timeout=30)
    assert "Traceback" not in done.stdout + done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done


def register(registry: FakeRegistry, secret_file, *extra: str, url: str | None = None,
             cp_id: str = CP) -> subprocess.CompletedProcess:
    auth = extra if extra else ("--enroll-token-file", str(registry.token_file))
    return ev_cp_m("register", "--registry", url or registry.url, "--cp-id", cp_id,
                   "--location", "Car park B", "--price", "0.35", "--ca",
                   str(registry.ca.path), "--secret-file", str(secret_file), *auth)


def failed(done: subprocess.CompletedProcess, *words: str) -> str:
    """One line on stderr, exit code 2, saying ``words``."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_register_with_the_token_writes_the_secret_0600_once(registry, tmp_path):
    secret_file = tmp_path / "cp.secret"
    done = register(registry, secret_file)
    assert done.returncode == 0, done.stderr
    secret = registry.cps[CP]["secret"]
    assert secret_file.read_text().strip() == secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret not in done.stdout and str(secret_file) in done.stdout
    request = registry.requests[-1]
    assert (request["method"], request["path"]) == ("PUT", f"/api/v1/cps/{CP}")
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert registry.cps[CP]["location"] == "Car park B"
    assert registry.cps[CP]["price_eur_kwh"] == "0.35"
    again = register(registry, secret_file)  # an update: 200, no secret, file untouched
    assert again.returncode == 0 and "registered already" in again.stdout
    assert secret_file.read_text().strip() == secret
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_register_and_deregister_with_a_client_certificate(registry, tmp_path):
    cert, key = registry.client_cert(CP)
    secret_file = tmp_path / "cp.secret"
    done = register(registry, secret_file, "--cert", str(cert), "--key", str(key))
    assert done.returncode == 0, done.stderr
    assert registry.requests[-1]["cn"] == CP and registry.requests[-1]["authorization"] is None
    gone = ev_cp_m("deregister", "--registry", registry.url, "--cp-id", CP, "--ca",
                   str(registry.ca.path), "--cert", str(cert), "--key", str(key))
    assert gone.returncode == 0, gone.stderr
    assert "deregistered CP" in gone.stdout and CP not in registry.cps
    again = ev_cp_m("deregister", "--registry", registry.url, "--cp-id", CP, "--ca",
                    str(registry.ca.path), "--cert", str(cert), "--key", str(key))
    failed(again, "registry refused (404", f"CP {CP} is not registered")


def test_every_refusal_is_one_line_and_exit_2(registry, tmp_path):
    secret_file = tmp_path / "cp.secret"
    failed(register(registry, secret_file, url=registry.url.replace("https:", "http:")),
           "must be reached over https://")
    line = failed(register(registry, secret_file,
                           url=registry.url.replace("127.0.0.1", "localhost")),
                  "registry certificate not trusted", "not valid for localhost")
    assert "Hostname mismatch" in line or "hostname" in line.lower()
    stranger = ev_cp_m("register", "--registry", registry.url, "--cp-id", CP, "--location",
                       "x", "--price", "0.3", "--ca", str(registry.stranger.path),
                       "--enroll-token-file", str(registry.token_file),
                       "--secret-file", str(secret_file))
    failed(stranger, "registry certificate not trusted", "--ca")
    wrong_token = tmp_path / "wrong-token"
    wrong_token.write_text("not-the-token\n")
    failed(register(registry, secret_file, "--enroll-token-file", str(wrong_token)),
           "registry refused (403", "wrong enrollment token")
    cert, key = registry.client_cert("CP-OTHER")
    failed(register(registry, secret_file, "--cert", str(cert), "--key", str(key)),
           "registry refused (403", "'CP-OTHER'")
    registry.refuse_next = 429
    line = failed(register(registry, secret_file), "registry refused (429", "retry in 30 s")
    assert "retry after" not in line  # the registry's reason says it already
    registry.refuse_next = 429
    registry.reason_429 = "too many failed attempts"
    failed(register(registry, secret_file), "registry refused (429", "(retry after 30 s)")
    failed(register(registry, secret_file, "--cert", str(cert)), "--cert and --key")
    assert not secret_file.exists() and CP not in registry.cps
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_unwritable_secret_file_is_refused_before_asking(registry, tmp_path):
    done = register(registry, tmp_path / "absent-dir" / "cp.secret")
    failed(done, "cannot write the secret file")
    assert registry.requests == []  # the registry never handed out a secret to lose


def test_a_server_that_does_not_speak_tls(tmp_path, registry):
    with socket.create_server(("127.0.0.1", 0)) as plain:
        port = plain.getsockname()[1]
        plain.listen()
        url = f"https://127.0.0.1:{port}"
        def answer() -> None:
            conn, _ = plain.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        failed(register(registry, tmp_path / "s", url=url), "TLS with the registry")
