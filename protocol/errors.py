"""Typed protocol errors: parsing raises these, a handler never sees an unchecked dict."""


class ProtocolError(Exception):
    """Anything a peer sent that we refuse: answered with NAK or a refusal."""


class FormatViolation(ProtocolError):
    """Not UTF-8 JSON, not an object, or a field of the wrong type or value."""


class UnknownMessageType(ProtocolError):
    """A well-formed message whose ``type`` we do not know."""
