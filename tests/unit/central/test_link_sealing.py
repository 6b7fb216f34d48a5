"""Central's end of a sealed CP link: what opens, what does not and why, the key wrapped
for the Welcome, and a revoked key that refuses everything after."""

from __future__ import annotations

import re

import pytest

from cloud.central.link_sealing import REVOKED, CpSealing, wrap_for
from protocol import auth, key_wrap, seal
from protocol import messages as m

KEY = seal.Key("k-000000000001", bytes(range(32)))
OTHER = seal.Key("k-000000000002", bytes(range(1, 33)))
BEAT = m.Heartbeat(cp_id="CP1", engine="OK", state="available")


def sealed(message=BEAT, key=KEY, cp_id="CP1") -> bytes:
    return seal.SealingCodec(m.CONTROL_CODEC, cp_id, key).encode(message)


def test_a_frame_sealed_by_the_cp_with_its_key_opens_and_what_central_sends_is_sealed():
    codec = CpSealing("CP1", KEY)
    assert codec.decode(sealed()) == BEAT
    command = m.Command(cp_id="CP1", action="stop", expires_at=m.utc_now())
    assert seal.open_message(m.CONTROL_CODEC, "CP1", KEY, codec.encode(command)) == command


@pytest.mark.parametrize(("payload", "reason"), [
    (m.encode(BEAT), "heartbeat not sealed (a plain frame after login)"),
    (sealed(key=OTHER), "sealed with key 'k-000000000002', not the current one"),
    (sealed(key=seal.Key(KEY.key_id, OTHER.secret)), "does not open"),
    (sealed(m.Heartbeat(cp_id="CP2", engine="OK"), cp_id="CP2"), "sealed by 'CP2'"),
    (b"{", "not a sealed envelope: invalid JSON"),
])
def test_what_does_not_open_is_refused_with_its_reason_kept_in_order(payload, reason):
    codec = CpSealing("CP1", KEY)
    with pytest.raises(seal.SealError, match=re.escape(reason)) as refused:
        codec.decode(payload)
    assert not codec.take_problem("bad LRC")  # another NAK is not a key problem
    assert codec.take_problem(str(refused.value)) and not codec.take_problem(str(refused.value))
    assert KEY.secret.hex() not in str(refused.value)


def test_once_revoked_every_frame_is_refused():
    codec = CpSealing("CP1", KEY)
    codec.revoked = True
    with pytest.raises(seal.SealError, match=REVOKED):
        codec.decode(sealed())
    assert codec.take_problem(REVOKED)


def test_the_welcome_key_unwraps_with_the_secret_and_the_challenge_only():
    secret, nonce = auth.new_secret(), auth.new_nonce()
    wrapped = wrap_for(auth.secret_key(secret).hex(), nonce, "CP1", KEY)
    assert KEY.secret.hex() not in wrapped
    wrapping = key_wrap.wrapping_key(auth.secret_key(secret), nonce, "CP1")
    assert key_wrap.unwrap(wrapped, KEY.key_id, wrapping, "CP1") == KEY
    for other in (key_wrap.wrapping_key(auth.secret_key("other"), nonce, "CP1"),
                  key_wrap.wrapping_key(auth.secret_key(secret), auth.new_nonce(), "CP1")):
        with pytest.raises(seal.SealError, match="does not open"):
            key_wrap.unwrap(wrapped, KEY.key_id, other, "CP1")
    m.Welcome(cp_id="CP1", enabled=True, price_eur_kwh="0.35", key_id=KEY.key_id,
              wrapped_key=wrapped)  # fits the message's rules
