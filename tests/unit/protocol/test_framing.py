import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.framing import (
    ACK,
    ENQ,
    EOT,
    ETX,
    MAX_PAYLOAD,
    NAK,
    STX,
    BadFrame,
    Control,
    Frame,
    FrameDecoder,
    encode_frame,
    lrc,
)


def test_golden_vector():
    assert lrc(b"START_REQ#DRIVER01") == 0x65
    assert encode_frame(b"START_REQ#DRIVER01") == b"\x02START_REQ#DRIVER01\x03\x65"


def decode(*chunks: bytes):
    decoder = FrameDecoder()
    events = []
    for chunk in chunks:
        decoder.feed(chunk)
        events += decoder.events()
    return events


def test_partial_reads_byte_by_byte():
    frame = encode_frame(b'{"a":1}')
    assert decode(*[frame[i : i + 1] for i in range(len(frame))]) == [Frame(b'{"a":1}')]


def test_several_frames_and_control_bytes_in_one_read():
    data = bytes([ENQ]) + encode_frame(b"one") + bytes([ACK]) + encode_frame(b"two") + bytes([EOT])
    assert decode(data) == [
        Control(ENQ), Frame(b"one"), Control(ACK), Frame(b"two"), Control(EOT)
    ]


@pytest.mark.parametrize("check", [0x02, 0x03, 0x04, 0x05, 0x06, 0x15])
def test_lrc_equal_to_a_control_byte_is_read_by_position(check):
    # find a payload whose LRC is that control byte
    payload = bytes([0x40, 0x40 ^ check])
    assert lrc(payload) == check
    assert decode(encode_frame(payload) + bytes([NAK])) == [Frame(payload), Control(NAK)]


def test_bad_lrc():
    frame = bytearray(encode_frame(b"hello"))
    frame[-1] ^= 0xFF
    [event] = decode(bytes(frame))
    assert isinstance(event, BadFrame) and "LRC" in event.reason


def test_oversize_frame_is_refused_and_decoder_recovers():
    big = b"x" * (MAX_PAYLOAD + 1)
    data = bytes([STX]) + big + bytes([ETX, lrc(big)]) + encode_frame(b"ok")
    events = decode(data)
    assert isinstance(events[0], BadFrame) and "larger" in events[0].reason
    assert events[1] == Frame(b"ok")


def test_max_size_frame_is_accepted():
    payload = b"y" * MAX_PAYLOAD
    assert decode(encode_frame(payload)) == [Frame(payload)]


def test_encode_refuses_oversize_and_framing_bytes():
    with pytest.raises(ValueError):
        encode_frame(b"x" * (MAX_PAYLOAD + 1))
    with pytest.raises(ValueError):
        encode_frame(b"a\x03b")


def test_garbage_outside_a_frame_is_one_bad_event_per_run():
    events = decode(b"random junk" + encode_frame(b"ok") + b"more junk")
    junk = BadFrame("bytes outside a frame")
    assert events == [junk, Frame(b"ok"), junk]


def test_stx_inside_a_frame_restarts_it():
    events = decode(b"\x02half" + encode_frame(b"whole"))
    assert isinstance(events[0], BadFrame)
    assert events[1] == Frame(b"whole")


@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=50))
def test_decoder_never_crashes_on_arbitrary_bytes(data, cuts):
    decoder = FrameDecoder(max_payload=256)
    position = 0
    for cut in [*cuts, len(data)]:
        decoder.feed(data[position : position + cut])
        position += cut
        for event in decoder.events():
            assert isinstance(event, Frame | Control | BadFrame)
            if isinstance(event, Frame):
                assert len(event.payload) <= 256
                assert STX not in event.payload and ETX not in event.payload


@given(
    st.lists(st.binary(max_size=300).map(lambda b: bytes(c for c in b if c not in (STX, ETX)))),
    st.integers(1, 50),
)
def test_round_trip_in_any_chunking(payloads, size):
    data = b"".join(encode_frame(p) for p in payloads)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert decode(*chunks) == [Frame(p) for p in payloads]


@given(st.binary(max_size=3000))
def test_lrc_is_the_xor_of_every_byte_at_any_length(payload):
    """Long payloads take the folding path; it must agree with XOR byte by byte."""
    check = 0
    for byte in payload:
        check ^= byte
    assert lrc(payload) == check


@pytest.mark.parametrize("size", [47, 48, 49, 64, 451, 4097, MAX_PAYLOAD])
def test_lrc_folds_every_length_around_the_switch_and_the_largest(size):
    payload = bytes((n * 37 + 11) % 256 for n in range(size))
    check = 0
    for byte in payload:
        check ^= byte
    assert lrc(payload) == check
