"""The RDM6300 frame decoder (sans-IO) and the card -> driver rule."""

from __future__ import annotations

from edge.engine.cardreader import (
    ETX,
    STX,
    BadFrame,
    Card,
    Decoder,
    _url_and_baud,
    checksum,
    driver_for,
    encode,
)

CARD = "0A1B2C3D4E"


def test_checksum_is_the_xor_of_the_five_data_bytes():
    assert checksum(CARD) == 0x0A ^ 0x1B ^ 0x2C ^ 0x3D ^ 0x4E
    assert encode(CARD) == bytes([STX]) + b"0A1B2C3D4E" + b"%02X" % checksum(CARD) + bytes([ETX])
    assert len(encode(CARD)) == 14


def test_a_valid_frame_gives_the_card():
    assert Decoder().feed(encode(CARD), 0.0) == [Card(CARD)]


def test_lower_case_hex_is_accepted_and_normalized():
    frame = bytes([STX]) + b"0a1b2c3d4e" + b"%02x" % checksum(CARD) + bytes([ETX])
    assert Decoder().feed(frame, 0.0) == [Card(CARD)]


def test_a_bad_checksum_gives_one_bad_frame_and_no_card():
    good = checksum(CARD)
    events = Decoder().feed(encode(CARD, check=good ^ 0xFF), 0.0)
    assert len(events) == 1 and isinstance(events[0], BadFrame)
    assert events[0].raw.startswith(CARD)


def test_split_reads_assemble_a_frame():
    decoder = Decoder()
    frame = encode(CARD)
    for i in range(len(frame) - 1):
        assert decoder.feed(frame[i:i + 1], 0.0) == []
    assert decoder.feed(frame[-1:], 0.0) == [Card(CARD)]


def test_garbage_is_skipped():
    decoder = Decoder()
    noise = b"\xff\x00hello\x03\x02ZZ\x02123" + bytes([STX]) + b"0A1B\x03"
    events = decoder.feed(noise + encode(CARD) + b"\r\n", 0.0)
    assert events == [Card(CARD)]
    assert decoder.skipped > 0
    assert decoder.feed(encode("112233AABB"), 5.0) == [Card("112233AABB")]


def test_a_frame_cut_short_by_a_new_one_resyncs():
    frame = encode(CARD)
    assert Decoder().feed(frame[:6] + frame, 0.0) == [Card(CARD)]


def test_a_held_card_is_reported_once_then_again_after_two_quiet_seconds():
    decoder, frame = Decoder(), encode(CARD)
    times = [0.0, 0.2, 0.4, 0.6, 1.5, 3.0, 4.9]  # held: never two seconds apart
    assert [e for t in times for e in decoder.feed(frame, t)] == [Card(CARD)]
    assert decoder.feed(frame, 7.0) == [Card(CARD)]  # taken away, shown again


def test_another_card_is_not_debounced():
    decoder = Decoder()
    other = "112233AABB"
    assert decoder.feed(encode(CARD) + encode(other) + encode(CARD), 0.0) == [
        Card(CARD), Card(other), Card(CARD)]


def test_cards_map_to_driver_ids():
    assert driver_for("0a1b2c3d4e") == "CARD-0A1B2C3D4E"


def test_reader_urls():
    assert _url_and_baud("/dev/serial0") == ("/dev/serial0", 9600)
    assert _url_and_baud("/dev/ttyAMA0?baud=19200") == ("/dev/ttyAMA0", 19200)
    assert _url_and_baud("loop://") == ("loop://", 9600)


def test_card_driver_ids_are_valid_in_a_supply_request():
    from protocol.messages import SupplyRequest

    request = SupplyRequest(cp_id="CP1", source="card", driver_id=driver_for(CARD))
    request.check()
    assert request.driver_id == "CARD-0A1B2C3D4E"
