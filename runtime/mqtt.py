"""What paho-mqtt does not say: why a connection attempt failed."""

from __future__ import annotations

import ssl
import sys


def connect_failure() -> str:
    """The reason, for paho's ``on_connect_fail`` callback to call.

    paho runs that callback inside its ``except OSError:`` block without passing the
    error, so it is still the exception being handled."""
    error = sys.exc_info()[1]
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    if isinstance(error, OSError):
        return error.strerror or str(error) or type(error).__name__
    return "connection failed"
