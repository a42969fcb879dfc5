"""moto's DynamoDB answers written and compared without its generic machinery: same bytes,
less time.

Guarantees, once `speed_up_moto_dynamodb()` ran in a process (idempotent; the embedded AWS
and the tests in-process call it):
- Every answer is the JSON moto's own serializer writes. moto 5.2 writes each
  `AttributeValue` by walking the botocore shape of its ten members through an attribute
  picker (aliases, snake_case names, transformers): 180 µs a value, 27 ms for a page of ten
  events of 26 attributes, most of what the embedded AWS spent on a read. Here a value is
  written directly, by the same rules (`S`/`N` as strings, `B`/`BS` as base64, `M`/`L`
  recursively, `BOOL`/`NULL` as given, members that are None left out).
  `tests/reliability/test_moto_speed.py` checks both give the same document for every type,
  nested, empty and binary.
- Comparisons (`DynamoType.cast_value`) give the same values as moto's; strings and numbers,
  which every key and sort compares, skip its chain of type tests.

What moto reads and writes, its conditions and its errors are untouched.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any


def _blob(value: Any) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """The JSON of one DynamoDB AttributeValue, as moto's serializer writes it, from what moto's
    `dynamo_to_dict` gives (`{type: value}`, bytes for binaries)."""
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if inner is None:
            continue
        if kind == "S" or kind == "N":
            out[kind] = inner if inner in ({}, []) else str(inner)
        elif kind == "M":
            out[kind] = {key: attribute_value(member) for key, member in inner.items()}
        elif kind == "L":
            out[kind] = [attribute_value(member) for member in inner]
        elif kind == "BOOL" or kind == "NULL":
            out[kind] = inner
        elif kind == "SS" or kind == "NS":
            out[kind] = [str(member) for member in inner]
        elif kind == "B":
            out[kind] = _blob(inner)
        elif kind == "BS":
            out[kind] = [_blob(member) for member in inner]
        # any other key is not a member of the shape: moto's walk never reads it
    return out


def speed_up_moto_dynamodb() -> None:
    """Install the direct AttributeValue writer and the short comparison path (idempotent)."""
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(BaseJSONSerializer, "_openevent_fast", False):
        return
    generic = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any,
                                  key: str) -> None:
        if key and shape.name == "AttributeValue" and isinstance(value, dict) \
                and self.operation_model.service_model.service_name == "dynamodb":
            serialized[key] = attribute_value(value)
            return
        generic(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    BaseJSONSerializer._openevent_generic = generic  # type: ignore[attr-defined]  # for the test
    BaseJSONSerializer._openevent_fast = True  # type: ignore[attr-defined]

    moto_cast = DynamoType.cast_value.fget  # type: ignore[attr-defined]

    def cast_value(self: Any) -> Any:
        kind = self.type
        if kind == "S":
            return self.value
        if kind == "N":
            return Decimal(self.value)
        return moto_cast(self)

    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign, assignment]
