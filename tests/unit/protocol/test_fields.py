"""protocol.fields: no message can be built invalid; the error names the field."""

import pytest

from protocol import data
from protocol import driver as d
from protocol import messages as m
from protocol.errors import FormatViolation
from protocol.fields import FieldSpec, specs
from protocol.rules import Action, Choice, Pattern, RequestSource
from protocol.schema import ALL_TYPES
from protocol.states import EngineState, Health
from tests.unit.protocol.strategies import TS, plain_kwargs, refused

TYPES = sorted({*ALL_TYPES.values()}, key=lambda cls: cls.TYPE)
FIELDS = [(cls, spec) for cls in TYPES for spec in specs(cls)]


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.TYPE)
def test_plain_values_build_every_type(cls):
    message = cls(**plain_kwargs(cls))
    assert message.TYPE == cls.TYPE


@pytest.mark.parametrize(("cls", "spec"), FIELDS,
                         ids=[f"{cls.TYPE}.{spec.name}" for cls, spec in FIELDS])
def test_building_with_an_invalid_field_raises_format_violation_naming_it(cls, spec):
    values = refused(spec)
    assert len(values) >= 3  # a wrong type, None or too long, and what each rule refuses
    for bad in values:
        with pytest.raises(FormatViolation, match=rf"\b{spec.name}\b"):
            cls(**{**plain_kwargs(cls), spec.name: bad})


def test_central_cannot_build_an_invalid_command():
    with pytest.raises(FormatViolation, match="^authorize needs session_id and price_eur_kwh$"):
        m.Command(cp_id="CP1", action="authorize", expires_at=TS, session_id="s-1")
    with pytest.raises(FormatViolation, match="^authorize needs"):
        m.Command(cp_id="CP1", action=Action.AUTHORIZE, expires_at=TS, session_id="",
                  price_eur_kwh="0.3")
    with pytest.raises(FormatViolation, match="^action must be one of authorize, stop, resume"):
        m.Command(cp_id="CP1", action="explode", expires_at=TS)
    assert m.Command(cp_id="CP1", action="stop", expires_at=TS).action is Action.STOP


def test_a_panel_press_needs_a_button_and_a_status_does_not():
    with pytest.raises(FormatViolation, match="^press needs button$"):
        m.PanelAction(cp_id="", action="press")
    assert m.PanelAction(cp_id="", action="status").button is None
    assert m.PanelAction(cp_id="", action="press", button="fault").button == "fault"


def test_enum_fields_hold_members_whether_given_strings_or_members():
    for given in ("OK", Health.OK):
        beat = m.Heartbeat(cp_id="CP1", engine=given, state="supplying")
        assert beat.engine is Health.OK and beat.state is EngineState.SUPPLYING
    assert m.SupplyRequest(cp_id="CP1", source="card").source is RequestSource.CARD


def test_only_narrows_an_enum_field():
    with pytest.raises(FormatViolation, match="^status must be one of OK, KO, not 'DOWN'$"):
        m.HealthReport(cp_id="CP1", seq=1, status=Health.DOWN, state="broken")
    with pytest.raises(FormatViolation, match="^health must be one of OK, KO, not 'DOWN'$"):
        data.StateChanged(cp_id="CP1", state="broken", health="DOWN")
    assert m.Heartbeat(cp_id="CP1", engine="DOWN").engine is Health.DOWN
    with pytest.raises(FormatViolation, match="^state must be one of available"):
        m.Heartbeat(cp_id="CP1", engine="OK", state=Health.OK)


def test_the_plan_reads_the_declarations():
    cp_id, *_ = specs(m.Heartbeat)
    assert cp_id == FieldSpec("cp_id", True, False, str, (Pattern(m.CP_ID),))
    engine = next(spec for spec in specs(m.Heartbeat) if spec.name == "engine")
    assert engine.rules == (Choice(Health, tuple(Health)),) and not engine.nullable
    state = next(spec for spec in specs(m.Heartbeat) if spec.name == "state")
    assert state.nullable and not state.required and state.base is EngineState
    status = next(spec for spec in specs(m.HealthReport) if spec.name == "status")
    assert status.rules == (Choice(Health, (Health.OK, Health.KO)),)
    assert [spec.name for spec in specs(d.ChargeRequest)] == ["driver_id", "id", "ts", "cp_id"]


def test_a_panel_client_may_leave_cp_id_empty_but_no_one_else():
    assert m.PanelAction(cp_id="", action="status").cp_id == ""
    with pytest.raises(FormatViolation, match="bad cp_id ''"):
        m.Hello(cp_id="")


def test_a_driver_message_checks_its_cp_id_only_when_it_has_one():
    assert d.StopRequest(driver_id="D1").cp_id is None
    with pytest.raises(FormatViolation, match="bad cp_id"):
        d.StopRequest(driver_id="D1", cp_id="no such/cp")
    with pytest.raises(FormatViolation, match="bad driver_id"):
        d.ListRequest(driver_id="")
