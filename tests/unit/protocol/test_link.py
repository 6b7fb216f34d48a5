import json

import pytest

from protocol.errors import FormatViolation
from protocol.framing import ACK, ENQ, EOT, NAK, encode_frame
from protocol.link import CLOSED, OPEN, Closed, Link, Opened, Received, Rejected


class Dicts:
    """A codec of JSON objects, so that these tests need no message types."""

    def __init__(self, tag: str = ""):
        self.tag = tag

    def encode(self, message) -> bytes:
        return json.dumps({**message, **({"codec": self.tag} if self.tag else {})}).encode()

    def decode(self, payload: bytes):
        try:
            body = json.loads(payload)
        except ValueError as error:
            raise FormatViolation("invalid JSON") from error
        if body.pop("codec", "") != self.tag:
            raise FormatViolation(f"not encoded with codec {self.tag!r}")
        return body


plain = Dicts()


def events(link):
    out = []
    while (event := link.next_event()) is not None:
        out.append(event)
    return out


def pair():
    """Two links wired back to back; returns (a, b, shuttle) where shuttle moves bytes."""
    a, b = Link(Dicts()), Link(Dicts())

    def shuttle(now=0.0):
        for _ in range(10):
            ab, ba = a.data_to_send(), b.data_to_send()
            if not ab and not ba:
                return
            b.receive_data(ab, now)
            a.receive_data(ba, now)

    return a, b, shuttle


def test_enq_ack_opens_both_sides_and_frames_flow():
    a, b, shuttle = pair()
    a.open(0.0)
    a.send({"n": 1}, 0.0)
    a.send({"n": 2}, 0.0)
    shuttle()
    assert events(a) == [Opened()]
    assert events(b) == [Opened(), Received({"n": 1}), Received({"n": 2})]
    assert a.idle and a.state == OPEN == b.state


def test_one_frame_outstanding_at_a_time():
    link = Link(plain)
    link.open(0.0)
    link.receive_data(bytes([ACK]), 0.0)
    link.data_to_send()
    link.send({}, 0.0)
    link.send({"n": 2}, 0.0)
    assert link.data_to_send() == encode_frame(b"{}")
    link.receive_data(bytes([ACK]), 0.1)
    assert link.data_to_send() == encode_frame(b'{"n": 2}')


def test_nak_retransmits_three_times_then_drops_the_link():
    link = Link(plain)
    link.open(0.0)
    link.receive_data(bytes([ACK]), 0.0)
    link.send({}, 0.0)
    link.data_to_send()
    for _ in range(3):
        link.receive_data(bytes([NAK]), 0.0)
        assert link.data_to_send() == encode_frame(b"{}")
    link.receive_data(bytes([NAK]), 0.0)
    assert link.data_to_send() == bytes([EOT])
    assert link.state == CLOSED
    assert isinstance(events(link)[-1], Closed)


def test_unanswered_frame_is_retransmitted_on_timeout():
    link = Link(plain, ack_timeout=1.0)
    link.open(0.0)
    link.receive_data(bytes([ACK]), 0.0)
    link.send({}, 0.0)
    link.data_to_send()
    assert link.deadline() == 1.0
    link.tick(0.5)
    assert link.data_to_send() == b""
    link.tick(1.0)
    assert link.data_to_send() == encode_frame(b"{}")
    for t in (2.0, 3.0, 4.0):
        link.tick(t)
    assert link.state == CLOSED


def test_unanswered_enq_drops_the_link():
    link = Link(plain, ack_timeout=0.5)
    link.open(0.0)
    for t in (0.5, 1.0, 1.5, 2.0):
        link.tick(t)
    assert link.state == CLOSED


@pytest.mark.parametrize(
    "bad", [b"not json", b"\x02oops\x03\x00", b"garbage bytes"], ids=["json", "lrc", "garbage"]
)
def test_receiver_naks_bad_input(bad):
    link = Link(plain)
    link.receive_data(bytes([ENQ]), 0.0)
    link.data_to_send()
    data = encode_frame(bad) if bad == b"not json" else bad
    link.receive_data(data, 0.0)
    assert link.data_to_send() == bytes([NAK])
    assert isinstance(events(link)[-1], Rejected)


def test_frame_before_enq_is_refused():
    link = Link(plain)
    link.receive_data(encode_frame(b"{}"), 0.0)
    assert link.data_to_send() == bytes([NAK])


def test_too_many_bad_frames_in_a_row_close_the_link():
    link = Link(plain, max_errors=4)
    link.receive_data(bytes([ENQ]), 0.0)
    link.data_to_send()
    for _ in range(4):
        link.receive_data(encode_frame(b"nope"), 0.0)
    assert link.state == CLOSED
    assert link.data_to_send().endswith(bytes([EOT]))


def test_good_frame_resets_the_error_count():
    link = Link(plain, max_errors=2)
    link.receive_data(bytes([ENQ]), 0.0)
    for _ in range(5):
        link.receive_data(encode_frame(b"nope") + encode_frame(b"{}"), 0.0)
    assert link.state == OPEN


def test_eot_closes():
    link = Link(plain)
    link.receive_data(bytes([ENQ, EOT]), 0.0)
    assert events(link) == [Opened(), Closed("peer closed the link")]


def test_a_switched_codec_speaks_the_next_frames_both_ways():
    """After login each side switches codec (the per-CP key is a codec): frames sent
    before keep the bytes they were encoded to; frames after are spoken and heard in the
    new one, and one in the old codec is refused."""
    a, b, shuttle = pair()
    a.send({"n": 1}, 0.0)  # queued before the link opens: encoded now, plain
    a.codec = Dicts("sealed")
    a.open(0.0)
    shuttle()
    assert events(b) == [Opened(), Received({"n": 1})]
    b.codec = Dicts("sealed")
    a.send({"n": 2}, 0.0)
    b.send({"n": 3}, 0.0)
    shuttle()
    assert events(b) == [Received({"n": 2})] and events(a) == [Opened(), Received({"n": 3})]
    b.receive_data(encode_frame(b'{"n": 4}'), 0.0)  # plain, after the switch
    assert b.data_to_send() == bytes([NAK])
    assert events(b) == [Rejected("not encoded with codec 'sealed'")]
