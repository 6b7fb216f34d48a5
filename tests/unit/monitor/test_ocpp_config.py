"""GetConfiguration and ChangeConfiguration verdicts."""

from edge.monitor.ocpp_config import KEYS, Configuration


def test_all_keys_without_a_list_and_unknown_ones_named():
    config = Configuration()
    known, unknown = config.get(None)
    assert [k["key"] for k in known] == list(KEYS) and unknown == []
    known, unknown = config.get(["NumberOfConnectors", "Nope"])
    assert known == [{"key": "NumberOfConnectors", "readonly": True, "value": "1"}]
    assert unknown == ["Nope"]


def test_change_verdicts():
    config = Configuration()
    assert config.change("MeterValueSampleInterval", "15") == "Accepted"
    assert config.seconds("MeterValueSampleInterval") == 15
    assert config.change("MeterValueSampleInterval", "-1") == "Rejected"
    assert config.change("MeterValueSampleInterval", "1.5") == "Rejected"
    assert config.change("TransactionMessageAttempts", "0") == "Rejected"
    assert config.change("SupportedFeatureProfiles", "Core") == "Rejected"
    assert config.change("FreeVend", "true") == "NotSupported"
    assert config.seconds("MeterValueSampleInterval") == 15


def test_saved_values_override_defaults_but_bad_ones_are_ignored():
    config = Configuration({"HeartbeatInterval": "42", "NumberOfConnectors": "9",
                            "MeterValueSampleInterval": "x", "Gone": "1"})
    assert config.values["HeartbeatInterval"] == "42"
    assert config.values["NumberOfConnectors"] == "1"
    assert config.values["MeterValueSampleInterval"] == KEYS["MeterValueSampleInterval"].default
