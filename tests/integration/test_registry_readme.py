"""The README's ``ev-registry`` commands, as written: the site CA, the registry's
certificate, a CP's client certificate, the token and the registry itself (on a free
port instead of 8443), then a CP registered over HTTPS with the name the certificate
gives and the CA it chains to."""

from __future__ import annotations

import json
import re
import shlex
import socket
import ssl
import subprocess

import pytest

from tests.support import BIN, ROOT, free_port, stop, wait_port

pytestmark = pytest.mark.integration


def registry_block() -> list[str]:
    """The README's ``sh`` block that makes the site CA: its commands, continuation
    lines joined, comments dropped."""
    for block in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        if "ev-registry ca init" in block:
            joined = block.replace("\\\n", " ")
            return [line.split("  #")[0].strip() for line in joined.splitlines()
                    if line.strip()]
    raise AssertionError("the README has no ev-registry ca init block")


def request(port: int, cafile: str, name: str, method: str, path: str, token: str,
            body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {name}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n").encode()
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(head + data)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def test_the_readme_registry_commands_work_as_written(tmp_path):
    *setup, serve = registry_block()
    assert serve.startswith(".venv/bin/ev-registry --listen 0.0.0.0:8443 ")
    for command in setup:
        done = subprocess.run(command.replace(".venv/bin/", f"{BIN}/"), shell=True,
                              cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (command, done.stderr)
    port = free_port()
    args = shlex.split(serve.replace("0.0.0.0:8443", f"127.0.0.1:{port}"))
    log = tmp_path / "registry.log"
    process = subprocess.Popen([str(BIN / "ev-registry"), *args[1:]], cwd=tmp_path,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_port(port, 15)
        token = (tmp_path / "enroll-token").read_text().strip()
        cafile = str(tmp_path / "site-ca" / "ca.crt")
        status, body = request(port, cafile, "central.example.net", "PUT", "/api/v1/cps/MAD-01",
                               token, {"location": "Madrid", "price_eur_kwh": 0.35})
        assert status == 201 and body["cp_id"] == "MAD-01" and len(body["secret"]) >= 16
        status, body = request(port, cafile, "10.0.0.5", "GET", "/api/v1/cps/MAD-01", token)
        assert status == 200 and "secret" not in body
        assert (tmp_path / "central.db").exists()
    finally:
        stop(process)
    assert token not in log.read_text() and "Traceback" not in log.read_text()
