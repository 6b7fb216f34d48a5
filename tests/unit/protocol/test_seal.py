"""Sealing with the per-CP key: fixed vectors, and everything that must not open."""

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import messages as m
from protocol import seal
from protocol.errors import ProtocolError

KEY = seal.Key("k1", bytes(range(32)))
OTHER = seal.Key("k1", bytes(range(1, 33)))
HEARTBEAT = m.Heartbeat(cp_id="MAD-01", id="00000000-0000-4000-8000-000000000001",
                        ts="2026-11-30T10:00:00.000Z", engine="OK", state="available")
# The wire form of HEARTBEAT sealed under KEY with an all-zero nonce: a change of the
# format, the associated data or the cipher breaks every CP and Central in the field.
VECTOR = (
    b'{"v":1,"cp_id":"MAD-01","key_id":"k1","type":"heartbeat",'
    b'"id":"00000000-0000-4000-8000-000000000001","nonce":"AAAAAAAAAAAAAAAA",'
    b'"ct":"dZ7Bp8VJoYcqwMxUaljz/LM3dH8K4hBw6fqRueeyHBJjb9eeBtDRYhH5U8Xx/ll+mTdxy0lBdpV9gg8Wek'
    b'121NlfEzqh4WDS47nj9yYUebtxN0LqApJncwSUIm7PbvyD5wV/NxZv3JMpSUgEsxTgfwCfNwWPFX/58igFtS8GF'
    b'6ANyvf4jgs1W30QuZIsxuRWRHphXa3PsJXuZRcNBwJM2FEXqEk13r/97PbUpWNjjvQKgyetgbXKAX07d359fqp'
    b'Ic0NoEQXM"}')


def sealed(message=HEARTBEAT, key=KEY, nonce=bytes(12)) -> bytes:
    return seal.seal(key, message.cp_id, message.TYPE, message.id, m.encode(message), nonce)


def test_the_fixed_vector():
    assert sealed() == VECTOR
    assert seal.open_(KEY, seal.parse(VECTOR)) == m.encode(HEARTBEAT)


@given(st.integers(min_value=0, max_value=len(VECTOR) * 8 - 1))
def test_any_flipped_bit_of_the_ciphertext_or_nonce_does_not_open(bit):
    body = json.loads(VECTOR)
    for field in ("ct", "nonce"):
        raw = bytearray(base64.b64decode(body[field]))
        raw[bit // 8 % len(raw)] ^= 1 << bit % 8
        tampered = json.dumps({**body, field: base64.b64encode(bytes(raw)).decode()}).encode()
        with pytest.raises(seal.SealError):
            seal.open_(KEY, seal.parse(tampered))


@pytest.mark.parametrize(("field", "value"), [
    ("cp_id", "LIS-01"), ("type", "supply_ended"), ("id", "00000000-0000-4000-8000-000000000002"),
])
def test_an_envelope_moved_to_another_cp_type_or_id_does_not_open(field, value):
    moved = json.dumps({**json.loads(VECTOR), field: value}).encode()
    with pytest.raises(seal.SealError, match="does not open"):
        seal.open_(KEY, seal.parse(moved))


def test_another_cps_key_does_not_open_and_another_key_id_is_named():
    with pytest.raises(seal.SealError, match="does not open"):
        seal.open_(OTHER, seal.parse(VECTOR))
    with pytest.raises(seal.SealError, match="sealed with key 'k1', not the current one"):
        seal.open_(seal.Key("k2", KEY.secret), seal.parse(VECTOR))


@pytest.mark.parametrize(("data", "reason"), [
    (b"{", "invalid JSON"), (VECTOR + b"}", "invalid JSON"), (VECTOR[:-2] + b"}", "invalid JSON"),
    (VECTOR.replace(b"heartbeat", b"heart\xffbeat"), "invalid JSON .*UTF-8"),
    (VECTOR.replace(b'"heartbeat"', b'"\\ud800"'), "invalid JSON .*surrogate"),  # not UTF-8
    (b"[]", "Expected `object`, got `array`"),
    (VECTOR.replace(b'"v":1,', b'"v":2,'), "unknown envelope version 2"),
    (VECTOR.replace(b'"v":1,', b'"v":true,'), "Expected `int`, got `bool` - at `\\$.v`"),
    (b"{}", "missing required field `v`"),
    (b'{"v":9,"cp_id":"MAD-01"}', "unknown envelope version 9"),  # a later version
    (VECTOR.replace(b'"id":', b'"idx":'), "unknown field `idx`"),
    (VECTOR.replace(b'"v":1,', b'"v":1,"extra":"x",'), "unknown field `extra`"),
    (m.encode(HEARTBEAT), "unknown field"),  # a plain message
    (VECTOR.replace(b'"key_id":"k1"', b'"key_id":""'), "`str` of length >= 1 - at `\\$.key_id`"),
    (VECTOR.replace(b'"key_id":"k1"', b'"key_id":1'), "Expected `str`, got `int`"),
    (VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAA"'), "at `\\$.nonce`"),
    (VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAAAAAAAAAAAAA!"'),
     "Invalid base64 encoded string - at `\\$.nonce`"),
    (VECTOR.replace(b'"ct":"', b'"ct":"!'), "Invalid base64 encoded string - at `\\$.ct`"),
    (VECTOR.replace(b'"ct":"d', b'"ct":"-'), "Invalid base64"),  # base64url is not base64
    (VECTOR.replace(b'"ct":"', b'"ct":"A'), "Invalid base64"),  # padding missing
    (b" " * (seal.MAX_ENVELOPE + 1), "larger than"),
])
def test_malformed_envelopes_say_why(data, reason):
    with pytest.raises(seal.SealError, match=reason):
        seal.parse(data)


def test_the_codec_round_trips_and_refuses_what_is_not_exactly_its_cps():
    codec = seal.SealingCodec(m.CONTROL_CODEC, "MAD-01", KEY)
    assert codec.decode(codec.encode(HEARTBEAT)) == HEARTBEAT
    lisbon = seal.SealingCodec(m.CONTROL_CODEC, "LIS-01", KEY)
    with pytest.raises(seal.SealError, match="sealed by 'MAD-01', not by 'LIS-01'"):
        lisbon.decode(codec.encode(HEARTBEAT))
    with pytest.raises(seal.SealError, match="not a sealed envelope"):
        codec.decode(m.encode(HEARTBEAT))  # plain JSON after login is refused
    liar = seal.seal(KEY, "MAD-01", "heartbeat", "00000000-0000-4000-8000-000000000009",
                     m.encode(HEARTBEAT), bytes(12))  # envelope and message disagree
    with pytest.raises(seal.SealError, match="does not match its envelope"):
        codec.decode(liar)


def test_keys_and_secrets_never_show_in_a_repr_or_a_reason():
    assert KEY.secret.hex() not in repr(KEY) and "k1" in repr(KEY)
    try:
        seal.open_(OTHER, seal.parse(VECTOR))
    except seal.SealError as error:
        assert OTHER.secret.hex() not in str(error) and KEY.secret.hex() not in str(error)


def test_a_key_keeps_its_aes_gcm_context_and_is_compared_without_it():
    again = seal.Key("k1", bytes(range(32)))
    assert KEY.aead is KEY.aead  # built once, kept with the key
    assert again == KEY and hash(again) == hash(KEY) and repr(again) == repr(KEY)
    assert seal.open_(again, seal.parse(sealed(key=KEY))) == m.encode(HEARTBEAT)


def test_an_envelope_parses_the_same_written_otherwise():
    """Space, another order of the fields, escapes: the same clear parts."""
    body = json.loads(VECTOR)
    for variant in (b"  " + VECTOR + b"\n", json.dumps(body, indent=1).encode(),
                    json.dumps(dict(reversed(body.items()))).encode()):
        assert seal.parse(variant) == seal.parse(VECTOR)


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1), st.binary(max_size=64))
def test_any_envelope_seal_writes_parses_to_what_was_sealed(cp_id, kind, message_id, plain):
    """Texts with quotes, escapes, control characters and non-ASCII alike."""
    try:
        data = seal.seal(KEY, cp_id, kind, message_id, plain, bytes(12))
    except UnicodeEncodeError:  # a lone surrogate: nothing can seal it
        return
    envelope = seal.parse(data)
    assert json.loads(data) == {  # JSON any reader takes, base64 any decoder takes
        "v": 1, "cp_id": cp_id, "key_id": KEY.key_id, "type": kind, "id": message_id,
        "nonce": "AAAAAAAAAAAAAAAA", "ct": base64.b64encode(envelope.ct).decode()}
    assert (envelope.cp_id, envelope.key_id, envelope.type, envelope.id) == (
        cp_id, KEY.key_id, kind, message_id)
    assert seal.open_(KEY, envelope) == plain


@pytest.mark.parametrize(("payload", "reason"), [
    (sealed(key=OTHER), "does not open"),  # the same key id, another key
    (sealed(key=seal.Key("k2", KEY.secret)), "sealed with key 'k2', not the current one"),
    (sealed(m.Heartbeat(**{**vars(HEARTBEAT), "cp_id": "LIS-01"})), "not by 'MAD-01'"),
    (seal.seal(KEY, "MAD-01", "heartbeat", HEARTBEAT.id, b'{"type":"heartbeat"}', bytes(12)),
     "missing field"),  # opens, but is no message
    (VECTOR.replace(b'"ct":"d', b'"ct":"e'), "does not open"),  # tampered
    (VECTOR.replace(b'"heartbeat"', b'"heart\\"beat"'), "does not open"),  # another type
    (bytearray(VECTOR), None),  # any bytes-like payload opens
])
def test_a_codec_opens_only_what_its_cp_sealed_under_its_key(payload, reason):
    codec = seal.SealingCodec(m.CONTROL_CODEC, "MAD-01", KEY)
    if reason is None:
        assert codec.decode(payload) == HEARTBEAT
        return
    with pytest.raises(ProtocolError, match=reason):
        codec.decode(payload)
