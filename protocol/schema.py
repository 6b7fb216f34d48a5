"""JSON Schema (draft 2020-12) for every message type, derived from the declarations
the field plan checks (:mod:`protocol.rules`, :mod:`protocol.fields`), so the schema
and the decoder cannot drift apart.  The OpenAPI document and the OCPP work reuse them.

:func:`json_schema` describes one type's wire form; :func:`json_schemas` all the types
of a registry (by default every type of every plane) as one schema: a ``oneOf`` over
``$defs``, told apart by ``type``.  What a schema cannot say, the decoder still checks:
a timestamp's day must exist (31 February has the right shape), and an integer field
refuses ``1.0``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from protocol import data, driver, messages
from protocol.fields import FieldSpec, specs
from protocol.rules import MAX_STRING

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}

ALL_TYPES: dict[str, type] = {
    **messages.MESSAGE_TYPES, **data.DATA_TYPES, **driver.REQUEST_TYPES,
    **driver.UPDATE_TYPES,
}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """One field's schema: its JSON type, then each rule's keywords."""
    base = spec.base
    if isinstance(base, type) and issubclass(base, StrEnum):
        schema: dict[str, Any] = {"type": "string"}
    elif base in _JSON_TYPES:
        schema = {"type": _JSON_TYPES[base]}
    else:  # Any
        schema = {}
    if schema.get("type") == "string":
        schema["maxLength"] = MAX_STRING
    for rule in spec.rules:
        for keyword, value in rule.schema().items():
            schema[keyword] = min(value, schema[keyword]) if keyword == "maxLength" else value
    if "enum" in schema:
        del schema["maxLength"]
    if spec.nullable:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of one message type's wire form."""
    fields = specs(cls)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": cls.__name__,
        "type": "object",
        "properties": {"type": {"const": cls.TYPE},
                       **{spec.name: field_schema(spec) for spec in fields}},
        "required": ["type", *(spec.name for spec in fields if spec.required)],
        "additionalProperties": False,
    }
    doc = inspect.getdoc(cls)
    if doc and not doc.startswith(f"{cls.__name__}("):  # not dataclass' generated one
        schema["description"] = doc
    if cls.REQUIRES:
        schema["allOf"] = [rule.schema() for rule in cls.REQUIRES]
    return schema


def json_schemas(types: Mapping[str, type] = ALL_TYPES) -> dict[str, Any]:
    """One schema for every type of ``types``: a message is exactly one of them."""
    defs = {}
    for cls in types.values():
        one = json_schema(cls)
        del one["$schema"]
        defs[cls.__name__] = one
    return {
        "$schema": DRAFT,
        "$defs": defs,
        "oneOf": [{"$ref": f"#/$defs/{cls.__name__}"} for cls in types.values()],
    }
