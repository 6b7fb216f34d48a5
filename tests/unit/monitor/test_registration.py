"""The registry client's pure parts: the URL, the TLS context, the secret file, and the
registrar's checks; errors are one line and never carry a token or a secret."""

import os
import ssl
import stat
from decimal import Decimal

import pytest

from edge.monitor.registrar import Registrar
from edge.monitor.registration import (
    Registry,
    RegistryError,
    SecretFile,
    client_context,
    deregister,
    https_address,
)
from tests.integration.fake_registry import CA
from tests.support import free_port

TOKEN = "enroll-" + "t" * 24


@pytest.mark.parametrize(("url", "address"), [
    ("https://registry.test:8443", ("registry.test", 8443)),
    ("https://10.0.0.5", ("10.0.0.5", 443)),
    ("https://registry.test:8443/", ("registry.test", 8443)),
])
def test_an_https_url_is_a_host_and_port(url, address):
    assert https_address(url) == address


@pytest.mark.parametrize(("url", "why"), [
    ("http://registry.test:8443", "must be reached over https://"),
    ("ftp://registry.test", "expected https://HOST:PORT"),
    ("registry.test:8443", "expected https://HOST:PORT"),
    ("https://registry.test:99999", "bad registry URL"),
    ("https://registry.test:8443/api/v1", "HOST:PORT only"),
    ("https://user@registry.test:8443", "HOST:PORT only"),
])
def test_anything_else_is_one_line(url, why):
    with pytest.raises(RegistryError, match=why) as error:
        https_address(url)
    assert "\n" not in str(error.value)


def test_a_missing_or_bad_ca_file_is_a_registry_error(tmp_path):
    with pytest.raises(RegistryError, match="cannot read the CA file"):
        client_context(str(tmp_path / "absent.crt"))
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate\n")
    with pytest.raises(RegistryError, match="holds no usable certificate"):
        client_context(str(junk))


def test_a_client_certificate_needs_its_key(tmp_path):
    ca = CA(tmp_path, "site-ca")
    with pytest.raises(RegistryError, match="both --cert and --key"):
        client_context(str(ca.path), cert="client.crt")
    with pytest.raises(RegistryError, match="cannot read"):
        client_context(str(ca.path), cert=str(tmp_path / "absent.crt"), key="absent.key")


def test_an_unreachable_registry_is_one_line_without_the_token():
    registry = Registry("127.0.0.1", free_port(), ssl.create_default_context(), TOKEN)
    with pytest.raises(RegistryError, match="cannot reach the registry at 127.0.0.1") as error:
        deregister(registry, "CP01")
    assert TOKEN not in str(error.value)


def test_the_secret_file_is_written_0600_atomically(tmp_path):
    path = tmp_path / "cp.secret"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    secret_file = SecretFile(str(path)).prepare()
    assert path.read_text() == "old\n"  # nothing replaced until the secret is there
    secret_file.write("n3w-secret")
    assert path.read_text() == "n3w-secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.secret"]


def test_a_discarded_secret_file_leaves_nothing(tmp_path):
    SecretFile(str(tmp_path / "cp.secret")).prepare().discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RegistryError, match="cannot write the secret file"):
        SecretFile(str(tmp_path / "no-dir" / "cp.secret")).prepare()


def test_registering_needs_a_location_and_a_price(tmp_path):
    registry = Registry("127.0.0.1", 1, ssl.create_default_context(), TOKEN)
    secret = str(tmp_path / "cp.secret")
    with pytest.raises(RegistryError, match="--location is required"):
        Registrar(registry, "CP01", None, Decimal("0.3"), secret).register()
    with pytest.raises(RegistryError, match="--price is required"):
        Registrar(registry, "CP01", "Car park", None, secret).register()
    with pytest.raises(RegistryError, match="cannot reach the registry"):
        Registrar(registry, "CP01", "Car park", Decimal("0.3"), secret).register()
    assert list(tmp_path.iterdir()) == []  # the prepared file went with the failure
