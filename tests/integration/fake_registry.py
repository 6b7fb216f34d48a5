"""A stand-in for ``ev-registry`` (its API as the contract gives it) for the monitor's
tests: a real HTTPS server on loopback (http.server with an ``ssl.SSLContext``) with
certificates made here with ``cryptography``: a site CA, the registry's certificate for
``registry.test`` and 127.0.0.1 (not ``localhost``: a wrong name), a client certificate
per CP, and a stranger CA with its own client certificate.

``PUT /api/v1/cps/<id>`` -> 201 ``{"cp_id", "secret"}`` the first time, 200 after;
``DELETE`` -> 200 or 404; bearer token or client certificate (CN = CP id) else 401/403;
``refuse_next`` answers 429 with ``Retry-After``.  Errors are ``{"error": reason}``."""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TOKEN = "enroll-" + "x" * 24


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(folder: Path, name: str, key, cert: x509.Certificate) -> tuple[Path, Path]:
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class CA:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.key = folder, ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))
        _, self.path = _write(folder, name, self.key, self.cert)

    def issue(self, name: str, common: str, *, sans: list[x509.GeneralName] | None = None,
              client: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (x509.CertificateBuilder().subject_name(_name(common))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return _write(self.folder, name, key, builder.sign(self.key, hashes.SHA256()))


class FakeRegistry:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.ca = CA(folder, "site-ca")
        self.stranger = CA(folder, "stranger-ca")
        self.server_key, self.server_cert = self.ca.issue(
            "registry", "registry.test",
            sans=[x509.DNSName("registry.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        self.token_file = folder / "token"
        self.token_file.write_text(TOKEN + "\n")
        self.cps: dict[str, dict] = {}
        self.requests: list[dict] = []  # method, path, body, authorization, cn
        self.refuse_next: int | None = None  # an HTTP status for the next request
        self.reason_429 = "too many failed attempts from 127.0.0.1: retry in 30 s"
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        context.load_verify_locations(cafile=self.ca.path)
        context.verify_mode = ssl.CERT_OPTIONAL
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def client_cert(self, cp_id: str, stranger: bool = False) -> tuple[Path, Path]:
        ca = self.stranger if stranger else self.ca
        key, cert = ca.issue(f"client-{cp_id}{'-stranger' if stranger else ''}", cp_id,
                             client=True)
        return cert, key

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # what the handler does
    def handle(self, method: str, path: str, body: bytes, authorization: str | None,
               cn: str | None) -> tuple[int, dict, dict]:
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": body,
                                  "authorization": authorization, "cn": cn})
            if self.refuse_next is not None:
                status, self.refuse_next = self.refuse_next, None
                return status, {"error": self.reason_429}, {"Retry-After": "30"}
        prefix = "/api/v1/cps/"
        cp_id = path[len(prefix):] if path.startswith(prefix) else ""
        if not cp_id or "/" in cp_id:
            return 404, {"error": "no such endpoint"}, {}
        if authorization is not None:
            if authorization != f"Bearer {TOKEN}":
                return 403, {"error": "wrong enrollment token"}, {}
        elif cn is None:
            return 401, {"error": "no credentials: send Authorization: Bearer <enrollment "
                                  "token>, or a client certificate from the site CA"}, {}
        elif cn != cp_id:
            return 403, {"error": f"the client certificate is for CP {cn!r}, not {cp_id!r}"}, {}
        with self._lock:
            if method == "DELETE":
                if self.cps.pop(cp_id, None) is None:
                    return 404, {"error": f"CP {cp_id} is not registered"}, {}
                return 200, {"cp_id": cp_id, "deregistered": True}, {}
            fields = json.loads(body)
            if cp_id in self.cps:
                self.cps[cp_id].update(fields)
                return 200, {"cp_id": cp_id, "registered_since": "2026-11-30T00:00:00Z"}, {}
            secret = secrets.token_urlsafe(24)
            self.cps[cp_id] = {**fields, "secret": secret}
            return 201, {"cp_id": cp_id, "secret": secret}, {}


def _handler(registry: FakeRegistry):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            peer = self.connection.getpeercert()
            cn = None
            if peer:
                cn = dict(item for rdn in peer["subject"] for item in rdn).get("commonName")
            status, answer, headers = registry.handle(
                self.command, self.path, body, self.headers.get("Authorization"), cn)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        do_PUT = do_DELETE = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
