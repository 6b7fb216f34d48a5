"""The registry's HTTPS server: werkzeug's threaded WSGI server on a TLS socket.

Two things differ from ``werkzeug.serving.make_server(..., ssl_context=...)``:

- the TLS handshake runs in the connection's own thread (with a 10 s timeout), not in
  the accept loop, so a client that connects and says nothing holds up nobody;
- a plain-HTTP request gets a plain 400 that says to use https://;
- a client certificate the site CA did not sign fails the handshake (Python's TLS has
  no way to accept it and answer 403 instead); that failure is audited ``auth failed``
  and counts against the address like a wrong token.

The accept loop kicks the systemd watchdog (``service_actions``), so a hung loop gets the
service restarted.
"""

from __future__ import annotations

import logging
import socket
import ssl

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from runtime import systemd

log = logging.getLogger("cloud.registry")
HANDSHAKE_TIMEOUT = 10.0
TLS_HANDSHAKE = 0x16  # the first byte of a TLS ClientHello record
PLAIN_HTTP = (b"HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\n\r\n"
              b'{"error":"this is an HTTPS port: use https://"}\n')


def tls_context(cert: str, key: str, client_ca: str | None) -> ssl.SSLContext:
    """TLS 1.2 or later with the registry's certificate; with ``client_ca``, a client
    certificate is asked for (optional: the enrollment token is the other way in) and,
    when one comes, it must be signed by that CA.  Raises OSError or ssl.SSLError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class Handler(WSGIRequestHandler):
    timeout = HANDSHAKE_TIMEOUT  # for the handshake and the request alike

    def handle(self) -> None:
        try:
            if self._plain_http():
                return
            self.connection.do_handshake()
        except ssl.SSLCertVerificationError as error:
            self.server.untrusted(self.client_address[0], error.verify_message or str(error))
            return
        except (OSError, ValueError) as error:  # not TLS, gone, timed out, refused our cert
            log.debug("TLS handshake with %s failed: %s", self.client_address[0], error)
            return
        super().handle()

    def _plain_http(self) -> bool:
        """A plain-HTTP request on the HTTPS port gets a plain answer that says so (peeked
        below the TLS layer, before any handshake)."""
        first = socket.socket.recv(self.connection, 1, socket.MSG_PEEK)
        if not first or first[0] == TLS_HANDSHAKE:
            return False
        if first.isalpha():  # GET, PUT, POST...
            socket.socket.sendall(self.connection, PLAIN_HTTP)
        return True

    def version_string(self) -> str:
        return "ev-registry"

    def log_request(self, code="-", size="-") -> None:
        log.info("%s %s %s -> %s", self.address_string(), self.command,
                 self.path.split("?")[0][:200], code)

    def log_error(self, format: str, *args) -> None:
        log.warning("%s: %s", self.address_string(), format % args)


class RegistryServer(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(self, listening: socket.socket, app, context: ssl.SSLContext,
                 on_untrusted, watchdog: systemd.Watchdog) -> None:
        host, port = listening.getsockname()[:2]
        super().__init__(host, port, app, Handler, False, None, fd=listening.fileno())
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)
        self.ssl_context = context  # werkzeug says https in the environ
        self._on_untrusted, self._watchdog = on_untrusted, watchdog

    def untrusted(self, address: str, reason: str) -> None:
        try:
            self._on_untrusted(address, reason)
        except Exception:
            log.exception("could not audit an untrusted client certificate")

    def service_actions(self) -> None:
        self._watchdog.kick()
