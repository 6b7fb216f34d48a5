"""The charge point's OCPP 1.6J configuration keys: what GetConfiguration shows and
ChangeConfiguration may change.  Pure: values in, verdicts out; the shell persists what
changed (:mod:`edge.monitor.ocpp_store`).

Writable keys hold whole numbers of seconds or attempts; a value that is not one is
``Rejected``, a read-only key is ``Rejected``, an unknown key is ``NotSupported``
(OCPP 1.6 section 5.3).
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED, REJECTED, NOT_SUPPORTED = "Accepted", "Rejected", "NotSupported"
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import"


@dataclass(frozen=True)
class Key:
    default: str
    writable: bool = False
    minimum: int = 0  # writable keys: the smallest whole number accepted


KEYS: dict[str, Key] = {
    "HeartbeatInterval": Key("300", writable=True),
    "MeterValueSampleInterval": Key("60", writable=True),
    "TransactionMessageAttempts": Key("3", writable=True, minimum=1),
    "TransactionMessageRetryInterval": Key("10", writable=True, minimum=1),
    "ConnectionTimeOut": Key("60", writable=True, minimum=1),
    "ResetRetries": Key("0", writable=True),
    "ClockAlignedDataInterval": Key("0"),
    "NumberOfConnectors": Key("1"),
    "AuthorizeRemoteTxRequests": Key("false"),
    "LocalAuthorizeOffline": Key("false"),
    "LocalPreAuthorize": Key("false"),
    "StopTransactionOnInvalidId": Key("true"),
    "StopTransactionOnEVSideDisconnect": Key("true"),
    "UnlockConnectorOnEVSideDisconnect": Key("true"),
    "MeterValuesSampledData": Key(MEASURANDS),
    "MeterValuesAlignedData": Key(""),
    "StopTxnSampledData": Key(""),
    "StopTxnAlignedData": Key(""),
    "GetConfigurationMaxKeys": Key("32"),
    "SupportedFeatureProfiles": Key("Core,RemoteTrigger"),
}


class Configuration:
    """The keys' current values: defaults, overridden by what was saved."""

    def __init__(self, saved: dict[str, str] | None = None) -> None:
        self.values = {name: key.default for name, key in KEYS.items()}
        for name, value in (saved or {}).items():
            if name in KEYS and KEYS[name].writable and _whole(value, KEYS[name].minimum):
                self.values[name] = value

    def seconds(self, name: str) -> int:
        return int(self.values[name])

    def get(self, names: list[str] | None) -> tuple[list[dict], list[str]]:
        """GetConfiguration: the known keys asked for (all without a list) and the unknown."""
        wanted = list(KEYS) if not names else names
        known = [{"key": name, "readonly": not KEYS[name].writable,
                  "value": self.values[name]} for name in wanted if name in KEYS]
        return known, [name for name in wanted if name not in KEYS]

    def change(self, name: str, value: str) -> str:
        """ChangeConfiguration: Accepted (and changed), Rejected or NotSupported."""
        key = KEYS.get(name)
        if key is None:
            return NOT_SUPPORTED
        if not key.writable or not _whole(value, key.minimum):
            return REJECTED
        self.values[name] = str(int(value))
        return ACCEPTED


def _whole(value: str, minimum: int) -> bool:
    return value.strip().isdigit() and minimum <= int(value) <= 86_400 * 7
