"""Sealing with the per-CP key: fixed vectors, and everything that must not open."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import messages as m
from protocol import seal

KEY = seal.Key("k1", bytes(range(32)))
OTHER = seal.Key("k1", bytes(range(1, 33)))
HEARTBEAT = m.Heartbeat(cp_id="MAD-01", id="00000000-0000-4000-8000-000000000001",
                        ts="2026-11-30T10:00:00.000Z", engine="OK", state="available")
# The wire form of HEARTBEAT sealed under KEY with an all-zero nonce: a change of the
# format, the associated data or the cipher breaks every CP and Central in the field.
VECTOR = (
    b'{"v":1,"cp_id":"MAD-01","key_id":"k1","type":"heartbeat",'
    b'"id":"00000000-0000-4000-8000-000000000001","nonce":"AAAAAAAAAAAAAAAA",'
    b'"ct":"dZ7Bp8VJoYcqwMxUaljz_LM3dH8K4hBw6fqRueeyHBJjb9eeBtDRYhH5U8Xx_ll-mTdxy0lBdpV9gg8Wek'
    b'121NlfEzqh4WDS47nj9yYUebtxN0LqApJncwSUIm7PbvyD5wV_NxZv3JMpSUgEsxTgfwCfNwWPFX_58igFtS8GF'
    b'6ANyvf4jgs1W30QuZIsxuRWRHphXa3PsJXuZRcNBwJM2FEXqEk13r_97PbUpWNjjvQKgyetgbXKAX07d359fqp'
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
        raw = bytearray(seal.unb64url(body[field], field))
        raw[bit // 8 % len(raw)] ^= 1 << bit % 8
        tampered = json.dumps({**body, field: seal.b64url(bytes(raw))}).encode()
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
    (b"{", "invalid JSON"), (b"[]", "not a JSON object"),
    (b'{"v":2}', "unknown envelope version 2"),
    (VECTOR.replace(b'"id":', b'"idx":'), "field 'id' missing"),
    (VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAA"'), "nonce must be 12 bytes"),
    (VECTOR.replace(b'"v":1,', b'"v":1,"extra":"x",'), "unknown envelope fields"),
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
    with pytest.raises(seal.SealError, match="unknown envelope version None"):
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


@pytest.mark.parametrize("variant", [
    b"  " + VECTOR + b"\n",  # space around: not the fast path, the same envelope
    VECTOR.replace(b'"v":1,', b'"v":1.0,'),
    VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAAAAAAAAAAAAAA=="'),
    json.dumps(json.loads(VECTOR), indent=1).encode(),
    json.dumps(json.loads(VECTOR)).encode("utf-16"),  # json.loads detects UTF-16
    VECTOR.replace(b'"ct":"', b'"ct":"!'),  # not strictly base64url: skipped, as before
])
def test_an_envelope_parses_the_same_on_and_off_the_fast_path(variant):
    assert seal.parse(variant) == seal.parse(VECTOR)


@pytest.mark.parametrize(("data", "reason"), [
    (VECTOR + b"}", "invalid JSON"), (VECTOR[:-2] + b"}", "invalid JSON"),
    (b"{}", "unknown envelope version None"),
    (VECTOR.replace(b'"v":1,', b'"v":true,'), None),  # json.loads: True == 1, as before
    (VECTOR.replace(b'"key_id":"k1"', b'"key_id":""'), "field 'key_id' missing or not text"),
    (VECTOR.replace(b'"key_id":"k1"', b'"key_id":1'), "field 'key_id' missing or not text"),
    (VECTOR.replace(b'"ct":"', b'"ct":"\xc3\xa9'), "ct is not base64url"),
    (VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAAA"'), "nonce is not base64url"),
    (VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAAAAAAAAAAAAA!"'),
     "nonce is not base64url"),  # 16 characters, one not base64url: never shifted into ct
])
def test_the_fast_path_refuses_what_the_checks_refuse_for_the_same_reason(data, reason):
    if reason is None:
        assert seal.parse(data) == seal.parse(VECTOR)
        return
    with pytest.raises(seal.SealError, match=reason):
        seal.parse(data)


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1), st.binary(max_size=64))
def test_any_envelope_seal_writes_parses_to_what_was_sealed(cp_id, kind, message_id, plain):
    """Through the fast path (plain texts) or json.loads (quotes, escapes, non-ASCII)."""
    data = seal.seal(KEY, cp_id, kind, message_id, plain, bytes(12))
    envelope = seal.parse(data)
    assert data == json.dumps(  # what seal() writes is json.dumps' compact form
        {"v": 1, "cp_id": cp_id, "key_id": KEY.key_id, "type": kind, "id": message_id,
         "nonce": "AAAAAAAAAAAAAAAA", "ct": seal.b64url(envelope.ct)},
        separators=(",", ":")).encode()
    assert (envelope.cp_id, envelope.key_id, envelope.type, envelope.id) == (
        cp_id, KEY.key_id, kind, message_id)
    assert seal.open_(KEY, envelope) == plain


def test_an_opener_opens_what_its_cp_seals_under_its_key():
    opener = seal.Opener("MAD-01", KEY)
    assert opener.open(m.CONTROL_CODEC, VECTOR) == HEARTBEAT
    assert opener.open(m.CONTROL_CODEC, sealed(nonce=bytes([9]) * 12)) == HEARTBEAT


@pytest.mark.parametrize("payload", [
    sealed(key=OTHER),  # the same key id, another key: does not open
    sealed(key=seal.Key("k2", KEY.secret)),  # another key id
    sealed(m.Heartbeat(**{**vars(HEARTBEAT), "cp_id": "LIS-01"})),  # another CP
    seal.seal(KEY, "MAD-01", "heartbeat", "00000000-0000-4000-8000-000000000009",
              m.encode(HEARTBEAT), bytes(12)),  # the message disagrees with its envelope
    seal.seal(KEY, "MAD-01", "heartbeat", HEARTBEAT.id, b'{"type":"heartbeat"}', bytes(12)),
    VECTOR.replace(b'"ct":"d', b'"ct":"e'),  # tampered
    VECTOR.replace(b'"ct":"', b'"ct":"!'),  # not as seal() writes it
    VECTOR.replace(b'"ct":"d', b'"ct":"=d'),  # padding inside: not strictly base64
    VECTOR.replace(b'"nonce":"AAAAAAAAAAAAAAAA"', b'"nonce":"AAAAAAAAAAAAAAA"'),
    VECTOR.replace(b'"heartbeat"', b'"heart\\"beat"'),  # an escaped quote
    VECTOR.replace(b'"heartbeat"', b'"heart\xffbeat"'),  # not UTF-8
    VECTOR.replace(b'"id":', b'"ID":'), VECTOR.replace(b'"}', b'","x":"y"}'),
    b" " + VECTOR, VECTOR + b" ", VECTOR[:-1], m.encode(HEARTBEAT), b"", bytearray(VECTOR),
])
def test_an_opener_leaves_anything_else_to_the_general_path(payload):
    """None, never an exception: the general path (the codec's) then says why, or opens
    what is only written differently."""
    assert seal.Opener("MAD-01", KEY).open(m.CONTROL_CODEC, payload) is None


class Inner:
    """A codec whose messages are JSON objects naming their CP, type and id."""

    @staticmethod
    def decode(payload: bytes):
        body = json.loads(payload)
        return type("Message", (), {"cp_id": body["cp_id"], "TYPE": body["type"],
                                    "id": body["id"]})


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_an_opener_opens_any_envelope_seal_writes_for_its_cp(cp_id, kind, message_id):
    """Texts with quotes, escapes and non-ASCII: the prefix is seal()'s own bytes."""
    plain = json.dumps({"cp_id": cp_id, "type": kind, "id": message_id}).encode()
    try:
        envelope = seal.seal(KEY, cp_id, kind, message_id, plain, bytes(12))
    except UnicodeEncodeError:  # a lone surrogate: nothing can seal it
        return
    opened = seal.Opener(cp_id, KEY).open(Inner, envelope)
    assert opened is not None or b"\\" in envelope  # escapes in type or id: general path
    if opened is not None:
        assert (opened.cp_id, opened.TYPE, opened.id) == (cp_id, kind, message_id)
    assert seal.Opener(cp_id + "x", KEY).open(Inner, envelope) is None
