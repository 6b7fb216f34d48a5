"""The site CA: X.509 keys and certificates with ``cryptography`` (no openssl subprocess).

Pure builders (the time is passed in; keys are drawn by ``cryptography``) and two small
file helpers.  The site CA signs:

- **server certificates** (``issue_server``): the registry's (and any other service's)
  TLS certificate, with a subject alternative name for each host name or IP address the
  clients dial (TLS clients check those, never the common name);
- **client certificates** (``issue_client``): a CP's identity for mutual TLS, common name
  = the CP id (and ``urn:evcharging:cp:<id>`` as its alternative name); the registry
  lets such a certificate act on that CP only.

Keys are ECDSA P-256; every certificate names its issuer's key (authority key id), and
the extended key usage says what it may be used for (a client certificate cannot serve
TLS, a server certificate cannot log in).  Private keys are written 0600, created
exclusively (``write_private``), never printed.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protocol.messages import CP_ID

CA_DAYS = 3650
LEAF_DAYS = 825  # what browsers and most TLS stacks accept for a leaf
BACKDATE = timedelta(minutes=5)  # a client whose clock is a little behind still accepts it


class CaError(ValueError):
    """A name that cannot be certified, or files that are not a CA: one line to show."""


@dataclass(frozen=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_ca(name: str, now: datetime, days: int = CA_DAYS) -> Issued:
    """A self-signed CA that signs leaf certificates only (path length 0)."""
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _text(name, "CA name"))])
    public = key.public_key()
    cert = (
        _builder(subject, subject, public, now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue_server(ca: Issued, names: list[str], now: datetime, days: int = LEAF_DAYS) -> Issued:
    """A TLS server certificate for ``names`` (host names or IP addresses; the first is
    also the common name)."""
    if not names:
        raise CaError("a server certificate needs at least one host name or IP address")
    alternatives = [_alternative(name) for name in names]
    return _leaf(ca, names[0], now, days, ExtendedKeyUsageOID.SERVER_AUTH,
                 x509.SubjectAlternativeName(alternatives))


def issue_client(ca: Issued, cp_id: str, now: datetime, days: int = LEAF_DAYS) -> Issued:
    """A CP's client certificate: common name = its CP id."""
    if not isinstance(cp_id, str) or not CP_ID.match(cp_id):
        raise CaError(f"bad CP id {str(cp_id)[:70]!r}: a client certificate names a CP")
    return _leaf(ca, cp_id, now, days, ExtendedKeyUsageOID.CLIENT_AUTH,
                 x509.SubjectAlternativeName([x509.UniformResourceIdentifier(cp_urn(cp_id))]))


def cp_urn(cp_id: str) -> str:
    """The name a CP's client certificate also carries as its subject alternative name
    (X.509 verifiers that follow the web PKI profile want one)."""
    return f"urn:evcharging:cp:{cp_id}"


def common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _leaf(ca: Issued, name: str, now: datetime, days: int, usage,
          alternatives: x509.SubjectAlternativeName) -> Issued:
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _text(name, "name"))])
    builder = (
        _builder(subject, ca.cert.subject, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=False, crl_sign=False,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.key.public_key()), critical=False)
        .add_extension(alternatives, critical=False)
    )
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def _builder(subject, issuer, public, now: datetime, days: int) -> x509.CertificateBuilder:
    if days < 1:
        raise CaError("a certificate is valid for at least 1 day")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _alternative(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.split(".")
    if (not name or len(name) > 253 or name != name.strip()
            or not all(label and len(label) <= 63 and label.replace("-", "").isalnum()
                       and label.isascii() for label in labels)):
        raise CaError(f"{name[:70]!r} is neither a host name nor an IP address")
    return x509.DNSName(name.lower())


def _text(value: str, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise CaError(f"{what} must be 1 to 64 printable characters")
    return value


# -- files --------------------------------------------------------------------------------
def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private(path: Path, data: bytes, replace: bool = False) -> None:
    """``data`` into a new file of mode 0600 (never readable by others, even for a
    moment); an existing file is an error unless ``replace`` (then swapped atomically)."""
    target = path.with_name(path.name + ".tmp") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if replace and target.exists():
        target.unlink()
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise CaError(f"{path} exists: not overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if replace:
        os.replace(target, path)


def write_public(path: Path, data: bytes, replace: bool = False) -> None:
    if path.exists() and not replace:
        raise CaError(f"{path} exists: not overwritten")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.chmod(0o644)
    os.replace(temporary, path)


def load_ca(folder: Path) -> Issued:
    """The CA that ``ev-registry ca init`` wrote into ``folder``."""
    key_path, cert_path = folder / "ca.key", folder / "ca.crt"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except FileNotFoundError as error:
        raise CaError(f"no CA in {folder}: {error.filename} is missing "
                      "(run `ev-registry ca init --dir DIR` first)") from None
    except OSError as error:
        raise CaError(f"cannot read the CA in {folder}: {error.strerror}") from None
    except (ValueError, TypeError):
        raise CaError(f"{folder} does not hold a PEM CA key and certificate") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise CaError(f"{key_path} is not the key of {cert_path}")
    return Issued(key, cert)
