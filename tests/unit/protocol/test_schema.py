"""protocol.schema: a valid draft 2020-12 JSON Schema for every message type, derived
from the declarations, agreeing with the decoder both ways."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.errors import FormatViolation, ProtocolError
from protocol.fields import specs
from protocol.schema import ALL_TYPES, DRAFT, json_schema, json_schemas
from tests.unit.protocol.strategies import TS, messages, plain_kwargs, refused

jsonschema = pytest.importorskip("jsonschema")
Validator = jsonschema.Draft202012Validator

TYPES = sorted({*ALL_TYPES.values()}, key=lambda cls: cls.TYPE)
VALIDATORS = {cls: Validator(json_schema(cls)) for cls in TYPES}
ALL = Validator(json_schemas())
# What the schema's keywords cannot say and the decoder checks: whether a day exists.
BEYOND_A_SCHEMA = {"2026-02-30T10:00:00Z"}


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.TYPE)
def test_every_type_has_a_valid_draft_2020_12_schema(cls):
    schema = json_schema(cls)
    Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT and schema["title"] == cls.__name__
    assert schema["properties"]["type"] == {"const": cls.TYPE}
    assert list(schema["properties"])[1:] == [spec.name for spec in specs(cls)]
    assert schema["additionalProperties"] is False


def test_one_schema_for_all_types():
    schema = json_schemas()
    Validator.check_schema(schema)
    assert len(schema["oneOf"]) == len(schema["$defs"]) == len(TYPES) == 40
    control = json_schemas(m.MESSAGE_TYPES)
    assert sorted(control["$defs"]) == sorted(cls.__name__ for cls in m.MESSAGE_TYPES.values())


def test_the_schema_says_what_the_declarations_say():
    schema = json_schema(m.Heartbeat)
    assert schema["required"] == ["type", "cp_id", "engine"]
    assert schema["properties"]["cp_id"] == {"type": "string", "maxLength": 4096,
                                             "pattern": m.CP_ID.pattern}
    assert schema["properties"]["engine"] == {"type": "string", "enum": ["OK", "KO", "DOWN"]}
    assert schema["properties"]["state"]["anyOf"][1] == {"type": "null"}
    assert schema["properties"]["id"] == {"type": "string", "minLength": 1, "maxLength": 64}
    report = json_schema(m.HealthReport)["properties"]["status"]
    assert report == {"type": "string", "enum": ["OK", "KO"]}
    assert json_schema(m.Hello)["properties"]["location"]["anyOf"][0]["maxLength"] == 200
    assert json_schema(m.HealthReport)["description"].startswith("The engine's answer")


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.TYPE)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_every_message_built_validates_against_its_schema(cls, data):
    VALIDATORS[cls].validate(json.loads(encode(data.draw(messages(cls)))))


def test_a_message_of_any_type_is_exactly_one_of_all_types():
    for cls in TYPES:
        ALL.validate(json.loads(encode(cls(**plain_kwargs(cls)))))


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.TYPE)
def test_invalid_messages_fail_both_the_schema_and_the_decoder(cls):
    checked = 0
    for spec in specs(cls):
        for bad in refused(spec):
            if isinstance(bad, bytes) or isinstance(bad, str) and bad in BEYOND_A_SCHEMA:
                continue
            body = {"type": cls.TYPE, **plain_kwargs(cls), spec.name: bad}
            assert not VALIDATORS[cls].is_valid(body), (spec.name, bad)
            with pytest.raises(FormatViolation):
                decode(json.dumps(body).encode(), ALL_TYPES)
            checked += 1
    assert checked >= 3 * len(specs(cls))


@pytest.mark.parametrize("body", [
    {"type": "command", "cp_id": "CP1", "action": "authorize", "expires_at": TS},
    {"type": "command", "cp_id": "CP1", "action": "authorize", "expires_at": TS,
     "session_id": "s-1", "price_eur_kwh": None},
    {"type": "panel_action", "cp_id": "", "action": "press"},
    {"type": "heartbeat", "cp_id": "CP1", "engine": "OK", "extra": 1},
    {"type": "heartbeat", "cp_id": "CP1"},
    {"type": "teleport", "cp_id": "CP1"},
], ids=["authorize-alone", "authorize-without-price", "press-without-button", "extra-field",
        "missing-field", "unknown-type"])
def test_cross_field_and_whole_message_rules_are_in_the_schema_too(body):
    assert not ALL.is_valid(body)
    with pytest.raises(ProtocolError):
        decode(json.dumps(body).encode(), ALL_TYPES)


def test_what_the_decoder_accepts_the_schema_accepts():
    for body in ({"type": "command", "cp_id": "CP1", "action": "stop", "expires_at": TS},
                 {"type": "panel_action", "cp_id": "", "action": "status"}):
        decode(json.dumps(body).encode(), ALL_TYPES)
        assert ALL.is_valid(body)
