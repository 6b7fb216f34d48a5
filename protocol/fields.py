"""The field plan: each message type's fields, read once from their declarations, and
the check every message runs when it is constructed.

:class:`Checked` is the root of every message type.  Its ``__post_init__`` checks each
field's type (``bool`` is not an ``int``; any string at most ``MAX_STRING`` long), then
each rule of :mod:`protocol.rules` the field is annotated with, keeping what a rule
returns (a ``StrEnum`` member for an enum field), then the class's cross-field
``REQUIRES``.  So no message can be built invalid, and decoding is just parsing and
constructing.  The plan is worked out once per class; checking is a loop over tuples.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from protocol.errors import FormatViolation
from protocol.rules import MAX_STRING, Choice, Only, Requires


@dataclass(frozen=True)
class FieldSpec:
    """One field as declared: what :mod:`protocol.schema` and the tests read."""

    name: str
    required: bool  # no default: every message on the wire carries it
    nullable: bool  # ``X | None``
    base: Any  # str, int, bool, dict, list, Any or a StrEnum
    rules: tuple[Any, ...]  # checked in order; an enum field's Choice comes first


class Checked:
    """The root of every message type: fields checked on construction."""

    TYPE: ClassVar[str] = ""
    REQUIRES: ClassVar[tuple[Requires, ...]] = ()

    def __post_init__(self) -> None:
        check_fields(self)

    def check(self) -> None:
        """Check every rule again: construction already did, so this passes for any
        message that exists (kept for callers from before rules were declared)."""
        check_fields(self)


@functools.cache
def specs(cls: type) -> tuple[FieldSpec, ...]:
    """The fields of a message type, in order, from its annotations."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple(_spec(spec, hints[spec.name]) for spec in dataclasses.fields(cls))


def _spec(declared: dataclasses.Field, hint: Any) -> FieldSpec:
    nullable = False
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) != 1:
            raise TypeError(f"{declared.name}: only X | None unions are supported")
        nullable, hint = True, others[0]
    rules: tuple[Any, ...] = ()
    if typing.get_origin(hint) is Annotated:
        rules, hint = hint.__metadata__, hint.__origin__
    only = [rule for rule in rules if isinstance(rule, Only)]
    rules = tuple(rule for rule in rules if not isinstance(rule, Only))
    base = typing.get_origin(hint) or hint
    if isinstance(base, type) and issubclass(base, StrEnum):
        allowed = only[0].members if only else tuple(base)
        rules = (Choice(base, allowed), *rules)
    elif only:
        raise TypeError(f"{declared.name}: Only() narrows a StrEnum field")
    required = (declared.default is dataclasses.MISSING
                and declared.default_factory is dataclasses.MISSING)
    return FieldSpec(declared.name, required, nullable, base, rules)


def _is_text(base: Any) -> bool:
    return base is str or isinstance(base, type) and issubclass(base, StrEnum)


def _exact_types(base: Any) -> frozenset[type]:
    """Types whose exact instances certainly pass the type check: a quick
    ``type(value) in ...`` that falls back to :func:`_is_instance` when it misses."""
    if _is_text(base):
        return frozenset({str, base})
    return frozenset({base}) if base in (int, bool, dict, list) else frozenset()


def _is_instance(value: object, base: Any) -> bool:
    if _is_text(base):
        return isinstance(value, str)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is Any:
        return True
    return isinstance(value, base)


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, bool, frozenset[type], Any, bool, tuple], ...]:
    """Per field: name, nullable, exact types, base, is text, rules."""
    return tuple((spec.name, spec.nullable, _exact_types(spec.base), spec.base,
                  _is_text(spec.base), spec.rules) for spec in specs(cls))


@functools.cache
def names(cls: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """All field names of a message type, and those it must carry."""
    fields = specs(cls)
    return (frozenset(spec.name for spec in fields),
            tuple(spec.name for spec in fields if spec.required))


def check_fields(message: Any) -> None:
    """Check every field of ``message`` against its declaration; raise FormatViolation
    naming the field.  Enum fields keep the member their string names."""
    cls = type(message)
    values = message.__dict__
    for name, nullable, exact, base, text, rules in _plan(cls):
        value = values[name]
        if value is None:
            if nullable:
                continue
            raise FormatViolation(f"{cls.TYPE}: field {name!r} has the wrong type")
        if type(value) not in exact and not _is_instance(value, base):
            raise FormatViolation(f"{cls.TYPE}: field {name!r} has the wrong type")
        if text and len(value) > MAX_STRING:
            raise FormatViolation(f"{cls.TYPE}: field {name!r} too long")
        for rule in rules:
            kept = rule.check(name, value)
            if kept is not value:
                values[name] = value = kept
    for requires in cls.REQUIRES:
        requires.check(message)
