"""Registration over HTTPS: a real ``ev-registry`` with certificates from its own CA tool
(``ev-registry ca``), one new TLS connection a request as ``ev-cp-m register`` makes:
with the enrollment token, and with a CP's client certificate (mutual TLS)."""

from __future__ import annotations

import http.client
import json
import secrets
import ssl
import tempfile
import time
from pathlib import Path

from bench.stats import summary
from sim.network import Network, free_ports, wait_port

BODY = json.dumps({"location": "Bench car park", "price_eur_kwh": 0.35}).encode()


def call(port: int, context: ssl.SSLContext, token: str | None, method: str, path: str,
         body: bytes | None = None) -> tuple[int, float]:
    """One request on its own connection (TLS handshake included): status and seconds."""
    started = time.perf_counter()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def run(count: int = 200) -> dict:
    with tempfile.TemporaryDirectory(prefix="ev-bench-registry-") as tmp:
        folder = Path(tmp)
        network = Network(folder)
        ca, token = folder / "ca", secrets.token_urlsafe(24)
        network.run(["ev-registry", "ca", "init", "--dir", str(ca)])
        network.run(["ev-registry", "ca", "issue", "--dir", str(ca), "--name", "127.0.0.1"])
        network.run(["ev-registry", "ca", "issue", "--dir", str(ca), "--client", "--name",
                     "BENCH-00000"])
        (folder / "token").write_text(token + "\n")
        port = next(free_ports())
        try:
            process = network.start("registry", [
                "ev-registry", "--listen", f"127.0.0.1:{port}", "--db", str(folder / "central.db"),
                "--tls-cert", str(ca / "127.0.0.1.crt"), "--tls-key", str(ca / "127.0.0.1.key"),
                "--enroll-token-file", str(folder / "token"), "--client-ca", str(ca / "ca.crt")])
            wait_port(port, 15, "ev-registry", process, network.logs / "registry.log")
            context = ssl.create_default_context(cafile=str(ca / "ca.crt"))
            timings: dict[str, list[float]] = {"register": [], "get": [], "update": [],
                                               "get_mutual_tls": []}
            statuses = {"register": 201, "get": 200, "update": 200}
            for n in range(count):
                path = f"/api/v1/cps/BENCH-{n:05d}"
                for what, method, body in (("register", "PUT", BODY), ("get", "GET", None),
                                           ("update", "PUT", BODY)):
                    status, seconds = call(port, context, token, method, path, body)
                    if status != statuses[what]:
                        raise RuntimeError(f"{what} {path}: HTTP {status}")
                    timings[what].append(seconds)
            mutual = ssl.create_default_context(cafile=str(ca / "ca.crt"))
            mutual.load_cert_chain(ca / "BENCH-00000.crt", ca / "BENCH-00000.key")
            for _ in range(count):
                status, seconds = call(port, mutual, None, "GET", "/api/v1/cps/BENCH-00000")
                if status != 200:
                    raise RuntimeError(f"GET with a client certificate: HTTP {status}")
                timings["get_mutual_tls"].append(seconds)
        finally:
            network.stop()
        return {"cps": count, **{what: summary(f"{what} over HTTPS (new connection)", values)
                                 for what, values in timings.items()}}
