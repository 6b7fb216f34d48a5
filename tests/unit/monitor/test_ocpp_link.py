"""The OCPP link's settings: one clear error each, before anything is dialled."""

import ssl

import pytest

from edge.monitor.ocpp_link import LinkError, check_url, where


@pytest.mark.parametrize(("url", "ca", "error"), [
    ("http://csms/ocpp/CP1", None, "is not a ws:// or wss:// URL"),
    ("ws:///ocpp/CP1", None, "is not a ws:// or wss:// URL"),
    ("ws://csms/ocpp/CP1", "ca.crt", "--ca is for wss:// URLs"),
    ("wss://csms/ocpp/CP1", "/nonexistent/ca.crt", "cannot use --ca /nonexistent/ca.crt"),
])
def test_bad_settings(url, ca, error):
    with pytest.raises(LinkError, match=error):
        check_url(url, ca)


def test_good_settings():
    assert check_url("ws://127.0.0.1:9000/ocpp/CP1", None) is None
    context = check_url("wss://csms.example.com/ocpp/CP1", None)
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_where_names_host_and_port():
    assert where("ws://csms.example.com/steve/CP1") == "csms.example.com:80"
    assert where("wss://csms.example.com/CP1") == "csms.example.com:443"
    assert where("ws://10.0.0.5:8180/CP1") == "10.0.0.5:8180"
