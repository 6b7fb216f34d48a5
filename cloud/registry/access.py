"""Who may act on a CP at the registry: pure, from what the request carried.

- ``Authorization: Bearer <enrollment token>``: the site's installers (Ansible, a
  technician) may register, update, deregister and re-key any CP;
- a client certificate signed by the site CA (the TLS layer checked the signature)
  whose common name is the CP id: that CP, and only that one.

No credentials is 401, wrong ones 403, each with a reason that names no secret.  A
bearer header wins over a certificate when both came.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

ACTOR_CP = "cp"  # a CP proving itself with its client certificate
ACTOR_REGISTRY = "registry"  # the registry's own enrollment (token holders, strangers)


@dataclass(frozen=True)
class Caller:
    actor: str
    credential: str  # what it proved itself with, for the audit trail

    @property
    def params(self) -> dict[str, str]:
        return {"credential": self.credential}


@dataclass(frozen=True)
class Refusal:
    status: int  # 401 or 403
    reason: str
    actor: str
    credential: str


ASK = ("send Authorization: Bearer <enrollment token>, or a client certificate from "
       "the site CA")


def decide(authorization: str | None, certificate_cn: str | None, cp_id: str,
           enroll_token: str | None) -> Caller | Refusal:
    """May this request act on ``cp_id``?"""
    if authorization is not None:
        return _bearer(authorization, enroll_token)
    if certificate_cn is not None:
        credential = f"client certificate CN={certificate_cn[:64]}"
        if certificate_cn != cp_id:
            return Refusal(403, f"the client certificate is for CP {certificate_cn[:64]!r}, "
                           f"not {cp_id!r}", ACTOR_CP, credential)
        return Caller(ACTOR_CP, credential)
    return Refusal(401, f"no credentials: {ASK}", ACTOR_REGISTRY, "none")


def _bearer(header: str, enroll_token: str | None) -> Caller | Refusal:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Refusal(401, f"malformed Authorization header: {ASK}", ACTOR_REGISTRY,
                       "malformed")
    if enroll_token is None:
        return Refusal(403, "this registry takes no enrollment token, only client "
                       "certificates", ACTOR_REGISTRY, "enrollment token")
    if not hmac.compare_digest(token.encode(), enroll_token.encode()):
        return Refusal(403, "wrong enrollment token", ACTOR_REGISTRY, "enrollment token")
    return Caller(ACTOR_REGISTRY, "enrollment token")
