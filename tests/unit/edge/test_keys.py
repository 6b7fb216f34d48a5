"""The key handed from monitor to engine, and the sealing of data-plane payloads."""

import pytest

from edge import keys
from protocol import data, seal
from protocol import messages as m

CP = "MAD-01"
KEY = seal.Key("k-0123456789ab", bytes(range(32)))
TELEMETRY = data.Telemetry(cp_id=CP, id="00000000-0000-4000-8000-000000000007",
                           ts="2026-11-30T10:00:00.000Z", session_id="S1", kw="7.4",
                           kwh="0.100", eur="0.03", price_eur_kwh="0.30")


def test_a_key_goes_to_the_engine_and_back_whole():
    issued = keys.issued(CP, KEY)
    assert (issued.cp_id, issued.key_id) == (CP, KEY.key_id)
    assert "=" not in issued.key and len(issued.key) == 43  # 32 bytes, unpadded base64url
    again = m.decode(m.encode(issued))  # through the wire form the local link carries
    assert keys.key_of(again) == KEY


@pytest.mark.parametrize("text", ["AAAA" * 4, "A" * 44, "A" * 17, "not+base64/at:all" * 3])
def test_a_malformed_key_is_refused_naming_its_id_only(text):
    message = m.KeyIssued(cp_id=CP, key_id="k-1", key=text.replace("+", "-").replace(
        "/", "_").replace(":", "-"))
    with pytest.raises(seal.SealError) as refused:
        keys.key_of(message)
    assert "'k-1'" in str(refused.value) and message.key not in str(refused.value)


def test_a_payload_is_sealed_under_the_key_binding_cp_type_and_id():
    plain = m.encode(TELEMETRY)
    envelope = keys.seal_payload(KEY, CP, plain, bytes(12))
    parsed = seal.parse(envelope)
    assert (parsed.cp_id, parsed.key_id, parsed.type, parsed.id) == (
        CP, KEY.key_id, "telemetry", TELEMETRY.id)
    assert seal.open_message(m.JsonCodec(data.DATA_TYPES), CP, KEY, envelope) == TELEMETRY
    assert b"0.100" not in envelope and b"S1" not in envelope  # nothing readable on the way
    other = seal.Key(KEY.key_id, bytes(32))
    with pytest.raises(seal.SealError):
        seal.open_message(m.JsonCodec(data.DATA_TYPES), CP, other, envelope)


def test_each_seal_takes_a_fresh_nonce():
    plain = m.encode(TELEMETRY)
    first = keys.seal_payload(KEY, CP, plain, seal.new_nonce())
    second = keys.seal_payload(KEY, CP, plain, seal.new_nonce())
    assert seal.parse(first).nonce != seal.parse(second).nonce


@pytest.mark.parametrize("payload", [
    b"not json", b"[1, 2]", b'{"type": "telemetry"}', b"\xff\xfe",
    m.encode(TELEMETRY).replace(CP.encode(), b"LIS-01"),
])
def test_what_is_not_one_of_this_cps_messages_is_not_sealed(payload):
    with pytest.raises(ValueError):
        keys.seal_payload(KEY, CP, payload, bytes(12))
