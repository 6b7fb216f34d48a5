"""A CP's new key wrapped for the wire: fixed vectors, and what must not unwrap."""

import pytest

from protocol import auth, key_wrap, seal

KEY = seal.Key("k1", bytes(range(32)))
SECRET = "correct horse battery staple"
WRAPPING = "fdef40fd1beb08ca768cc8a6ddbf5f343acdcdf66cdc7f9cefa48fd40774b02d"
WRAPPED = "BwcHBwcHBwcHBwcHQYduzx6DoL1UaLM8acUiJD0BKH1N7dV-U6MdOQC13xU4RDSwnQgCenfXXlN9lslg"


def test_the_key_wrap_vectors():
    wrapping = key_wrap.wrapping_key(auth.secret_key(SECRET), "00" * 16, "MAD-01")
    assert wrapping.hex() == WRAPPING
    assert key_wrap.wrap(KEY, wrapping, "MAD-01", bytes([7]) * 12) == WRAPPED
    assert key_wrap.unwrap(WRAPPED, "k1", wrapping, "MAD-01").secret == KEY.secret


def test_a_wrapped_key_opens_only_with_the_right_secret_cp_and_key_id():
    wrapping = key_wrap.wrapping_key(auth.secret_key(SECRET), "00" * 16, "MAD-01")
    wrong = key_wrap.wrapping_key(auth.secret_key("another secret"), "00" * 16, "MAD-01")
    with pytest.raises(seal.SealError, match="wrong secret or tampered"):
        key_wrap.unwrap(WRAPPED, "k1", wrong, "MAD-01")
    with pytest.raises(seal.SealError):
        key_wrap.unwrap(WRAPPED, "k1", wrapping, "LIS-01")
    with pytest.raises(seal.SealError):
        key_wrap.unwrap(WRAPPED, "k2", wrapping, "MAD-01")
    assert key_wrap.wrapping_key(auth.secret_key(SECRET), "11" * 16, "MAD-01") != wrapping
