"""The site CA (cloud/registry/ca.py): certificates that Python's own TLS stack and
cryptography's X.509 verifier accept for what they are for, and refuse for the rest."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from cloud.registry import ca

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def site():
    return ca.new_ca("Test site CA", NOW)


def _verifier(authority: ca.Issued, at: datetime = NOW):
    return PolicyBuilder().store(Store([authority.cert])).time(at)


def test_the_ca_signs_leaves_only(site):
    constraints = site.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert ca.common_name(site.cert) == "Test site CA"
    assert site.cert.not_valid_after_utc - NOW > timedelta(days=3000)


def test_a_server_certificate_names_its_hosts_and_ips(site):
    server = ca.issue_server(site, ["registry.example.net", "127.0.0.1", "::1"], NOW)
    names = server.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["registry.example.net"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                         ipaddress.ip_address("::1")]
    verifier = _verifier(site).build_server_verifier(x509.DNSName("registry.example.net"))
    verifier.verify(server.cert, [])
    with pytest.raises(VerificationError):
        _verifier(site).build_server_verifier(x509.DNSName("evil.example.net")).verify(
            server.cert, [])
    other = ca.new_ca("Another CA", NOW)
    with pytest.raises(VerificationError):
        _verifier(other).build_server_verifier(x509.DNSName("registry.example.net")).verify(
            server.cert, [])


def test_a_client_certificate_names_its_cp_and_cannot_serve(site):
    client = ca.issue_client(site, "CP-001", NOW)
    assert ca.common_name(client.cert) == "CP-001"
    usage = client.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    verified = _verifier(site).build_client_verifier().verify(client.cert, [])
    assert verified.chain[0] == client.cert
    assert verified.subjects == [x509.UniformResourceIdentifier("urn:evcharging:cp:CP-001")]
    with pytest.raises(VerificationError):  # EKU clientAuth only
        _verifier(site).build_server_verifier(x509.DNSName("CP-001")).verify(client.cert, [])
    server = ca.issue_server(site, ["localhost"], NOW)
    with pytest.raises(VerificationError):  # and a server's cannot log in
        _verifier(site).build_client_verifier().verify(server.cert, [])


def test_certificates_expire(site):
    server = ca.issue_server(site, ["localhost"], NOW, days=1)
    later = NOW + timedelta(days=2)
    with pytest.raises(VerificationError):
        _verifier(site, later).build_server_verifier(x509.DNSName("localhost")).verify(
            server.cert, [])


@pytest.mark.parametrize("names", [[], ["bad name"], ["-"], ["a..b"], ["x" * 64 + ".net"],
                                   ["café.example"]])
def test_a_server_certificate_needs_real_names(site, names):
    with pytest.raises(ca.CaError):
        ca.issue_server(site, names, NOW)


@pytest.mark.parametrize("cp_id", ["", "CP 1", "x" * 65])
def test_a_client_certificate_needs_a_cp_id(site, cp_id):
    with pytest.raises(ca.CaError, match="bad CP id"):
        ca.issue_client(site, cp_id, NOW)


def test_python_tls_accepts_the_pair_for_what_it_is(site, tmp_path):
    """A real handshake on loopback: the server's certificate checked against the site
    CA and 127.0.0.1, the client's against the same CA (mutual TLS); a client
    certificate's common name reaches the server."""
    server = ca.issue_server(site, ["127.0.0.1"], NOW)
    client = ca.issue_client(site, "CP-7", NOW)
    files = {}
    for name, issued in (("server", server), ("client", client)):
        files[name] = (tmp_path / f"{name}.crt", tmp_path / f"{name}.key")
        ca.write_public(files[name][0], ca.pem_cert(issued.cert))
        ca.write_private(files[name][1], ca.pem_key(issued.key))
    ca.write_public(tmp_path / "ca.crt", ca.pem_cert(site.cert))
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(*files["server"])
    serving.load_verify_locations(tmp_path / "ca.crt")
    serving.verify_mode = ssl.CERT_REQUIRED
    dialing = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    dialing.load_cert_chain(*files["client"])
    listener = socket.create_server(("127.0.0.1", 0))
    seen = {}

    def accept() -> None:
        conn, _ = listener.accept()
        with serving.wrap_socket(conn, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(b"ok")

    thread = threading.Thread(target=accept)
    thread.start()
    with socket.create_connection(listener.getsockname()) as raw, \
            dialing.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.recv(2) == b"ok"
    thread.join(5)
    listener.close()
    assert dict(x[0] for x in seen["peer"]["subject"])["commonName"] == "CP-7"


def test_keys_are_written_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "k.key"
    ca.write_private(path, b"first")
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ca.CaError, match="exists: not overwritten"):
        ca.write_private(path, b"second")
    assert path.read_bytes() == b"first"
    os.chmod(path, 0o640)
    ca.write_private(path, b"second", replace=True)
    assert path.read_bytes() == b"second" and path.stat().st_mode & 0o777 == 0o600


def test_load_ca_reads_back_what_init_wrote_and_says_what_is_wrong(site, tmp_path):
    with pytest.raises(ca.CaError, match="no CA in .*ca.key is missing"):
        ca.load_ca(tmp_path)
    ca.write_private(tmp_path / "ca.key", ca.pem_key(site.key))
    ca.write_public(tmp_path / "ca.crt", ca.pem_cert(site.cert))
    assert ca.load_ca(tmp_path).cert == site.cert
    other = ca.new_ca("Another CA", NOW)
    ca.write_public(tmp_path / "ca.crt", ca.pem_cert(other.cert), replace=True)
    with pytest.raises(ca.CaError, match="is not the key of"):
        ca.load_ca(tmp_path)
    (tmp_path / "ca.crt").write_text("garbage")
    with pytest.raises(ca.CaError, match="does not hold a PEM CA"):
        ca.load_ca(tmp_path)
