"""The OCPP link's settings: one clear error each, before anything is dialled."""

import asyncio
import ssl

import pytest

from edge.monitor.ocpp_link import LinkError, check_url, end, where


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


def test_ending_the_tasks_of_a_connection_survives_a_lost_cancellation():
    """The sender lost the cancellation that came as the answer to its call arrived
    (Python 3.11's wait_for does that): it must end all the same, or the monitor never
    stops.  The sender here loses its first cancellation on any Python."""
    async def scenario() -> None:
        lost = []

        async def sender() -> None:
            while True:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    if lost:
                        raise
                    lost.append(True)  # as if the answer had come in the same turn

        task = asyncio.ensure_future(sender())
        await asyncio.sleep(0.01)
        await asyncio.wait_for(end([task]), 5)
        assert lost and task.cancelled()

    asyncio.run(scenario())
