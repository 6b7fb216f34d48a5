"""Who may act on which CP: the enrollment token for any, a client certificate for its
own CP; 401 without credentials, 403 with wrong ones."""

import pytest

from cloud.registry.access import Caller, Refusal, decide

TOKEN = "enrol-4b1d-token"


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"  Bearer  {TOKEN} "])
def test_the_enrollment_token_may_act_on_any_cp(header):
    assert decide(header, None, "CP1", TOKEN) == Caller("registry", "enrollment token")
    assert decide(header, "CP7", "CP1", TOKEN) == Caller("registry", "enrollment token")


def test_a_client_certificate_may_act_on_its_own_cp_only():
    assert decide(None, "CP1", "CP1", TOKEN) == Caller("cp", "client certificate CN=CP1")
    refusal = decide(None, "CP2", "CP1", TOKEN)
    assert isinstance(refusal, Refusal) and refusal.status == 403
    assert refusal.reason == "the client certificate is for CP 'CP2', not 'CP1'"
    assert decide(None, "CP1", "CP1", None) == Caller("cp", "client certificate CN=CP1")


@pytest.mark.parametrize("header, cn, token, status, reason", [
    (None, None, TOKEN, 401, "no credentials: send Authorization: Bearer"),
    ("Basic dXNlcjpwYXNz", None, TOKEN, 401, "malformed Authorization header"),
    ("Bearer", None, TOKEN, 401, "malformed Authorization header"),
    ("Bearer ", "CP1", TOKEN, 401, "malformed Authorization header"),  # the header wins
    ("Bearer guess", None, TOKEN, 403, "wrong enrollment token"),
    ("Bearer guess", "CP1", TOKEN, 403, "wrong enrollment token"),
    (f"Bearer {TOKEN}x", None, TOKEN, 403, "wrong enrollment token"),
    (f"Bearer {TOKEN}", None, None, 403, "takes no enrollment token"),
])
def test_refusals_say_why(header, cn, token, status, reason):
    refusal = decide(header, cn, "CP1", token)
    assert isinstance(refusal, Refusal)
    assert refusal.status == status
    assert reason in refusal.reason
    assert TOKEN not in refusal.reason and "guess" not in refusal.reason
