"""Messages for tests, derived from the declarations (protocol.fields.specs): hypothesis
strategies for valid messages of any type, one plain valid value per field, and the
values each field's declaration refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from hypothesis import strategies as st

from protocol.errors import FormatViolation
from protocol.fields import FieldSpec, specs
from protocol.rules import (
    DECIMAL,
    MAX_STRING,
    TIMESTAMP,
    Choice,
    DecimalString,
    Length,
    Pattern,
    UtcTimestamp,
)

TS = "2026-11-22T10:00:00.000Z"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8,
)


def _timestamps() -> st.SearchStrategy[str]:
    zones = st.just(UTC) | st.builds(
        lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60))
    written = st.datetimes(min_value=datetime(1000, 1, 1), timezones=zones).flatmap(
        lambda moment: st.sampled_from(["seconds", "milliseconds", "microseconds"]).map(
            lambda spec: moment.isoformat(timespec=spec).replace("+00:00", "Z")))
    return written | st.from_regex(TIMESTAMP, fullmatch=True).filter(_is_a_day)


def _is_a_day(text: str) -> bool:
    try:
        UtcTimestamp().check("ts", text)
    except FormatViolation:
        return False
    return True


def _text(spec: FieldSpec) -> st.SearchStrategy:
    for rule in spec.rules:
        if isinstance(rule, Choice):
            return st.sampled_from([member.value for member in rule.allowed])
        if isinstance(rule, Pattern):
            return st.from_regex(rule.regex, fullmatch=True)
        if isinstance(rule, DecimalString):
            amounts = st.decimals(min_value=0, max_value=10**9, allow_nan=False,
                                  allow_infinity=False).map(str)
            return amounts | st.from_regex(DECIMAL, fullmatch=True)
        if isinstance(rule, UtcTimestamp):
            return _timestamps()
        if isinstance(rule, Length):
            return st.text(min_size=rule.least, max_size=rule.most)
    return st.text(max_size=40)


def value(spec: FieldSpec) -> st.SearchStrategy:
    """Valid values of one field."""
    if spec.base is int:
        values = st.integers()
    elif spec.base is bool:
        values = st.booleans()
    elif spec.base is dict:
        values = st.dictionaries(st.text(max_size=5), json_values, max_size=4)
    elif spec.base is list:
        values = st.lists(json_values, max_size=4)
    elif spec.base is Any:
        values = json_values
    else:
        values = _text(spec)
    return st.none() | values if spec.nullable else values


def _construct(cls: type, kwargs: dict[str, Any]) -> Any:
    try:
        return cls(**kwargs)
    except FormatViolation:  # a cross-field rule (REQUIRES) refused the combination
        return None


def messages(cls: type) -> st.SearchStrategy:
    """Valid messages of ``cls``: every field drawn, optional ones sometimes left out."""
    fields = specs(cls)
    kwargs = st.fixed_dictionaries(
        {spec.name: value(spec) for spec in fields if spec.required},
        optional={spec.name: value(spec) for spec in fields if not spec.required})
    return kwargs.map(lambda given: _construct(cls, given)).filter(lambda m: m is not None)


def plain(spec: FieldSpec) -> Any:
    """One valid value of a field (never None)."""
    plain_values = {int: 1, bool: True, dict: {}, list: [], Any: {}}
    if spec.base in plain_values:
        return plain_values[spec.base]
    for rule in spec.rules:
        if isinstance(rule, Choice):
            return rule.allowed[0].value
        if isinstance(rule, Pattern):
            return next(v for v in ("CP-1", "A" * 43) if rule.regex.match(v))
        if isinstance(rule, DecimalString):
            return "0.35"
        if isinstance(rule, UtcTimestamp):
            return TS
    return "x"


def plain_kwargs(cls: type) -> dict[str, Any]:
    """Every field of ``cls`` with a plain valid value (so cross-field rules hold)."""
    return {spec.name: plain(spec) for spec in specs(cls)}


def refused(spec: FieldSpec) -> list[Any]:
    """Values the declaration of this field refuses, whatever the other fields hold."""
    wrong_type = {int: ["7", True, 1.5], bool: [1, "true"], dict: [[], "{}", 1],
                  list: [{}, "[]", 1], Any: []}
    values = list(wrong_type.get(spec.base, [7, b"CP-1", ["x"]]))
    if not spec.nullable and spec.base is not Any:
        values.append(None)
    text = spec.base is str or isinstance(spec.base, type) and issubclass(spec.base, StrEnum)
    if text:
        values.append("x" * (MAX_STRING + 1))
    for rule in spec.rules:
        if isinstance(rule, Choice):
            values += ["bogus", rule.allowed[0].value.upper() + "!"]
        elif isinstance(rule, Pattern):
            values += [v for v in ("a b", "../etc", "x" * 65, "x" * 129, "CP-1\n")
                       if not rule.regex.match(v)]
        elif isinstance(rule, DecimalString):
            values += ["-1", "NaN", "abc", "Infinity", " 1.5", "1_000", "1e5000", "", "1.5\n"]
        elif isinstance(rule, UtcTimestamp):
            values += ["yesterday", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00",
                       "2026-02-30T10:00:00Z", "2026-11-22T10:00Z", TS + "\n"]
        elif isinstance(rule, Length):
            values.append("x" * (rule.most + 1))
            if rule.least:
                values.append("")
    return values
