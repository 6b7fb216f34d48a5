"""The CP's side of the registry (``ev-registry``): register, deregister, over HTTPS only.

``PUT /api/v1/cps/<cp_id>`` with ``{"location", "price_eur_kwh"}`` registers the CP (201
with its secret, shown this once) or updates it (200, no secret); ``DELETE`` deregisters
it.  The caller proves itself with the site's enrollment token (``Authorization:
Bearer``) or a client certificate from the site CA whose common name is the CP id.  The
registry's certificate must chain to ``--ca`` and name the host of the URL.

Every failure is a :class:`RegistryError` with one line for a person ("registry
certificate not trusted: ...", the registry's own reason for a 4xx); no secret, token or
key is ever part of one.  The secret is written to its file with mode 0600, atomically
(a temporary file in the same folder, made *before* asking, so a secret returned once is
never lost to an unwritable folder).
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

TIMEOUT_S = 10.0
HOSTNAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
MAX_ANSWER = 64 * 1024


class RegistryError(Exception):
    """One line saying what went wrong (never a secret)."""


@dataclass(frozen=True)
class Registry:
    """Where the registry is and how we prove who we are."""

    host: str
    port: int
    context: ssl.SSLContext
    token: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Registered:
    created: bool  # a new CP (its secret came back), or an update of a registered one
    secret: str | None


def https_address(url: str) -> tuple[str, int]:
    """``https://HOST[:PORT]`` -> (host, port); RegistryError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as error:
        raise RegistryError(f"bad registry URL {url[:80]!r}: {error}") from None
    if parts.scheme == "http":
        raise RegistryError(f"the registry must be reached over https://, not {url[:80]!r}: "
                            "the token and the CP's secret would cross the network in the clear")
    if parts.scheme != "https" or not parts.hostname:
        raise RegistryError(f"bad registry URL {url[:80]!r}: expected https://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise RegistryError(f"bad registry URL {url[:80]!r}: expected https://HOST:PORT only")
    return parts.hostname, port


def client_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """TLS that trusts only ``ca`` and checks the registry's name; with ``cert``/``key``
    our client certificate for mutual TLS."""
    try:
        context = ssl.create_default_context(cafile=ca)
    except FileNotFoundError as error:
        raise RegistryError(f"cannot read the CA file {ca}: {error.strerror}") from None
    except (OSError, ssl.SSLError, ValueError) as error:
        raise RegistryError(f"the CA file {ca} holds no usable certificate ({error})") from None
    if cert or key:
        if not (cert and key):
            raise RegistryError("a client certificate needs both --cert and --key")
        try:
            context.load_cert_chain(cert, key)
        except FileNotFoundError as error:
            raise RegistryError(f"cannot read {error.filename or cert}: "
                                f"{error.strerror}") from None
        except (OSError, ssl.SSLError, ValueError) as error:
            reason = getattr(error, "reason", None) or error.__class__.__name__
            raise RegistryError(f"cannot use the client certificate {cert} with the key {key} "
                                f"({reason})") from None
    return context


def register(registry: Registry, cp_id: str, location: str, price: Decimal) -> Registered:
    body = json.dumps({"location": location, "price_eur_kwh": str(price)}).encode()
    status, answer = _call(registry, "PUT", cp_id, body)
    if status == 201:
        secret = answer.get("secret")
        if not isinstance(secret, str) or not secret.strip():
            raise RegistryError("the registry registered the CP but sent no secret")
        return Registered(True, secret.strip())
    return Registered(False, None)


def deregister(registry: Registry, cp_id: str) -> None:
    _call(registry, "DELETE", cp_id, None)


def _call(registry: Registry, method: str, cp_id: str, body: bytes | None) -> tuple[int, dict]:
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if registry.token:
        headers["Authorization"] = f"Bearer {registry.token}"
    where = registry.address
    connection = http.client.HTTPSConnection(registry.host, registry.port,
                                             context=registry.context, timeout=TIMEOUT_S)
    try:
        connection.request(method, f"/api/v1/cps/{quote(cp_id, safe='')}", body, headers)
        response = connection.getresponse()
        raw = response.read(MAX_ANSWER)
    except ssl.SSLCertVerificationError as error:
        raise RegistryError(_untrusted(error, registry.host)) from None
    except ssl.SSLError as error:
        raise RegistryError(f"TLS with the registry at {where} failed: "
                            f"{error.reason or error.__class__.__name__}{_hint(error)}") from None
    except TimeoutError:
        raise RegistryError(f"the registry at {where} did not answer within "
                            f"{TIMEOUT_S:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        why = getattr(error, "strerror", None) or error.__class__.__name__
        raise RegistryError(f"cannot reach the registry at {where}: {why}") from None
    finally:
        connection.close()
    answer = _json(raw)
    if 200 <= response.status < 300:
        return response.status, answer
    reason = answer.get("error") or answer.get("reason") or response.reason
    text = f"registry refused ({response.status} {response.reason}): {str(reason)[:300]}"
    retry = response.getheader("Retry-After")
    if response.status == 429 and retry and "retry" not in text.lower():
        text += f" (retry after {retry[:10]} s)"
    raise RegistryError(text)


def _untrusted(error: ssl.SSLCertVerificationError, host: str) -> str:
    why = error.verify_message or error.reason or "verification failed"
    if error.verify_code in HOSTNAME_MISMATCH:
        return f"registry certificate not trusted: it is not valid for {host} ({why})"
    return f"registry certificate not trusted: {why} (is --ca the site CA?)"


def _hint(error: ssl.SSLError) -> str:
    reason = (error.reason or "").lower()
    if "wrong_version_number" in reason:
        return " (it does not speak TLS there)"
    if "alert" in reason and ("certificate" in reason or "unknown_ca" in reason):
        return " (the registry did not accept our client certificate)"
    return ""


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


class SecretFile:
    """The CP's secret file, written atomically with mode 0600.  :meth:`prepare` makes
    the temporary file first (fails early, before the registry hands out a secret);
    :meth:`write` fills it and moves it into place; :meth:`discard` if nothing came."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._fd: int | None = None

    def prepare(self) -> SecretFile:
        try:
            self._fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise RegistryError(f"cannot write the secret file {self.path}: "
                                f"{error.strerror}") from None
        return self

    def write(self, secret: str) -> None:
        assert self._fd is not None
        try:
            os.fchmod(self._fd, 0o600)
            os.write(self._fd, secret.encode() + b"\n")
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            os.replace(self._temp, self.path)
        except OSError as error:
            self.discard()
            raise RegistryError(f"cannot write the secret file {self.path}: "
                                f"{error.strerror}") from None
        _sync_folder(self.path.parent)

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._temp.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
