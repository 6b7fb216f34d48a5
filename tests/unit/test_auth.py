"""HMAC-SHA256 challenge-response between a monitor and Central."""

import hashlib
import hmac

from cloud.central.ocpp.server import credentials
from protocol import auth


def test_proof_is_hmac_of_nonce_and_cp_id_keyed_with_secret_digest():
    key = hashlib.sha256(b"s3cret").digest()
    expected = hmac.new(key, b"abc123CP01", hashlib.sha256).hexdigest()
    assert auth.proof("s3cret", "abc123", "CP01") == expected
    assert auth.secret_key("s3cret") == key


def test_verify_accepts_the_right_proof():
    key_hex = auth.secret_key("s3cret").hex()
    assert auth.verify(key_hex, "n1", "CP01", auth.proof("s3cret", "n1", "CP01"))


def test_verify_refuses_wrong_secret_nonce_or_cp():
    key_hex = auth.secret_key("s3cret").hex()
    assert not auth.verify(key_hex, "n1", "CP01", auth.proof("wrong", "n1", "CP01"))
    assert not auth.verify(key_hex, "n2", "CP01", auth.proof("s3cret", "n1", "CP01"))
    assert not auth.verify(key_hex, "n1", "CP02", auth.proof("s3cret", "n1", "CP01"))


def test_verify_refuses_malformed_input_without_raising():
    key_hex = auth.secret_key("s3cret").hex()
    assert not auth.verify("not hex", "n1", "CP01", "00")
    assert not auth.verify(key_hex, "n1", "CP01", "")
    assert not auth.verify(key_hex, "n1", "CP01", "é" * 64)
    assert not auth.verify(key_hex, "n1", "CP01", None)


def test_secrets_and_nonces_are_fresh():
    assert len(auth.new_secret()) >= 32
    assert auth.new_secret() != auth.new_secret()
    assert auth.new_nonce() != auth.new_nonce()


def test_a_basic_authorization_header_is_what_central_reads_back():
    header = auth.basic_authorization("OCPP-01", "pa:ss wörd")
    assert header == "Basic T0NQUC0wMTpwYTpzcyB3w7ZyZA=="
    assert credentials(header) == ("OCPP-01", "pa:ss wörd")
