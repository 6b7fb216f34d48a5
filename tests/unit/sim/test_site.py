"""The demo's site: a CA, a registry certificate that Python's TLS trusts for the
demo's host names, a private enrollment token, all kept when the demo runs again."""

from __future__ import annotations

import socket
import ssl
import threading

from sim.site import HOSTS, Site


def handshake(site: Site, host: str) -> str:
    """A TLS handshake with a server using the site's registry certificate, verified
    against the site CA for ``host``; returns the negotiated protocol."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(site.folder / f"{HOSTS[0]}.crt",
                                   site.folder / f"{HOSTS[0]}.key")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with server_context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(site.ca_cert))
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            client_context.wrap_socket(raw, server_hostname=host) as tls:
        version = tls.version()
        tls.sendall(b"x")
    thread.join(5)
    listener.close()
    return version


def test_the_registry_certificate_is_trusted_through_the_site_ca(tmp_path):
    site = Site(tmp_path / "site", 8443).create()
    for host in HOSTS:
        assert handshake(site, host) in {"TLSv1.2", "TLSv1.3"}


def test_keys_and_the_token_are_private_and_kept_on_a_second_run(tmp_path):
    site = Site(tmp_path / "site", 8443).create()
    private = [site.folder / "ca.key", site.folder / f"{HOSTS[0]}.key", site.token_file]
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in private)
    assert len(site.token_file.read_text().strip()) >= 32
    before = {path: path.read_bytes() for path in site.folder.iterdir()}
    Site(tmp_path / "site", 8443).create()
    assert {path: path.read_bytes() for path in site.folder.iterdir()} == before


def test_register_flags_name_the_registry_its_ca_and_the_token(tmp_path):
    site = Site(tmp_path / "site", 9443)
    assert site.flags() == ["--registry", "https://127.0.0.1:9443", "--ca",
                            str(site.ca_cert), "--enroll-token-file", str(site.token_file)]
