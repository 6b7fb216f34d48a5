"""What Central's OCPP endpoint logs of websockets' failures: one line each, and nothing
above DEBUG for a peer that connected and said nothing."""

import logging

from cloud.central.ocpp.server import OneLine


def failing(cause: BaseException) -> None:
    try:
        try:
            raise cause
        except BaseException as error:
            raise ValueError("did not receive a valid HTTP request") from error
    except ValueError:
        OneLine(logging.getLogger("test.ocpp.websockets"), {}).error(
            "opening handshake failed", exc_info=True)


def test_a_port_probe_is_not_an_error_and_a_bad_request_is_one_line(caplog):
    caplog.set_level(logging.DEBUG, logger="test.ocpp.websockets")
    failing(EOFError("connection closed while reading HTTP request line"))
    failing(ConnectionResetError("reset by peer"))
    probe, reset = caplog.records
    assert probe.levelno == logging.DEBUG and reset.levelno == logging.ERROR
    assert reset.getMessage() == ("opening handshake failed: ValueError: did not receive a "
                                  "valid HTTP request (ConnectionResetError: reset by peer)")
    assert reset.exc_info is None and len(caplog.text.strip().splitlines()) == 2  # no traceback
