"""Parsing JSON:API request documents into validated Python values.

Every failure is a 4xx naming the offending member in `source.pointer`: malformed JSON 400,
a key or string that cannot be stored (a lone UTF-16 surrogate, `"\\ud800"`) 422 in any
route, wrong content type 415, wrong `type` 409, `data.id` not matching the URL 400, unknown
or invalid attributes 422. Read-only attributes that clients echo back are ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from openevent.errors import (
    BadRequest,
    Conflict,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    attribute_pointer,
    relationship_pointer,
)
from openevent.jsonapi.compat import TOLERATED_RELATIONSHIPS
from openevent.jsonapi.document import MEDIA_TYPE, Schema
from openevent.jsonapi.naming import dasherize, snake
from openevent.settings import get_settings


@dataclass
class Payload:
    """A parsed request document: only what the client sent (PATCH semantics)."""

    id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.attributes


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def read_body(
    raw: bytes | None, content_type: str | None, *, media_types: tuple[str, ...]
) -> Any:
    """Check the content type and size, then decode JSON (400 when malformed)."""
    if _media_type(content_type) not in media_types:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(media_types)}", parameter="Content-Type"
        )
    raw = raw or b""
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge("Request body is too large", pointer="/")
    if not raw.strip():
        raise BadRequest("Request body is empty", pointer="/")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest("Request body is not valid JSON", pointer="/") from None
    if _SURROGATE_ESCAPE.search(raw):  # only a \uD800-\uDFFF escape makes one
        pointer = _unstorable(body, "")
        if pointer is not None:
            raise Unprocessable("Text must be valid Unicode (a lone surrogate cannot be "
                                "stored)", pointer or "/")
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(value: Any, pointer: str) -> str | None:
    """The JSON pointer of the first key or string in `value` that UTF-8 cannot encode."""
    if isinstance(value, str):
        return None if _storable(value) else pointer
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if not _storable(str(key)):
                return here
            found = _unstorable(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, f"{pointer}/{index}")
            if found is not None:
                return found
    return None


def read_json_object(raw: bytes | None, content_type: str | None) -> dict[str, Any]:
    """A plain-JSON action body (`application/json`; JSON:API media type accepted too)."""
    body = read_body(raw, content_type, media_types=("application/json", MEDIA_TYPE))
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object", pointer="/")
    return body


def parse_document(
    raw: bytes | None,
    content_type: str | None,
    schema: Schema,
    *,
    url_ids: tuple[str, ...] | None = None,
    create: bool = False,
    is_admin: bool = False,
    current: dict[str, Any] | None = None,
) -> Payload:
    """Validate a JSON:API resource document for `schema`.

    `url_ids` are the identifiers the URL names (numeric id and identifier); a PATCH must
    carry one of them in `data.id`. `current` holds stored values, so admin-only fields sent
    unchanged (clients echo whole models) are accepted.
    """
    body = read_body(raw, content_type, media_types=(MEDIA_TYPE,))
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise Unprocessable("Document must have a 'data' object", "/data")
    data = body["data"]
    rtype = data.get("type")
    if rtype is None:
        raise Unprocessable("'type' is required", "/data/type")
    if rtype != schema.type:
        raise Conflict(f"Expected type '{schema.type}', got '{rtype}'", "/data/type")
    rid = data.get("id")
    if url_ids is not None:
        if rid is None:
            raise BadRequest("'id' is required and must match the URL", "/data/id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or str(rid) not in url_ids:
            raise BadRequest("'id' does not match the URL", "/data/id")
    payload = Payload(id=None if rid is None else str(rid))

    attributes = data.get("attributes", {})
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise Unprocessable("'attributes' must be an object", "/data/attributes")
    for wire_name, value in attributes.items():
        name = snake(str(wire_name))
        spec = schema.fields.get(name)
        if spec is None:
            raise Unprocessable(f"Unknown attribute '{wire_name}'", attribute_pointer(name))
        if spec.read_only:
            continue
        if spec.admin_only and not is_admin:
            stored = None if current is None else current.get(name)
            # An echo of the stored value, or of the default where nothing is stored.
            unchanged = stored == value if stored is not None else value in (spec.default, None)
            if unchanged:
                continue
            raise Unprocessable(f"'{dasherize(name)}' can only be set by an admin",
                                attribute_pointer(name))
        payload.attributes[name] = spec.parse(value, dasherize(name))

    if create:
        for name, spec in schema.fields.items():
            if spec.required and name not in payload.attributes:
                raise Unprocessable(f"'{dasherize(name)}' is required", attribute_pointer(name))

    relationships = data.get("relationships", {}) or {}
    if not isinstance(relationships, dict):
        raise Unprocessable("'relationships' must be an object", "/data/relationships")
    for wire_name, value in relationships.items():
        name = snake(str(wire_name))
        rel = schema.relationships.get(name)
        pointer = relationship_pointer(name)
        if rel is None:
            if name in TOLERATED_RELATIONSHIPS.get(schema.type, frozenset()):
                continue
            raise Unprocessable(f"Unknown relationship '{wire_name}'", pointer)
        if not isinstance(value, dict) or "data" not in value:
            raise Unprocessable(f"Relationship '{wire_name}' must have 'data'", pointer)
        payload.relationships[name] = _linkage(value["data"], rel.type, rel.many, pointer)
    return payload


def _linkage(data: Any, rtype: str, many: bool, pointer: str) -> Any:
    def one(item: Any) -> str:
        if not isinstance(item, dict):
            raise Unprocessable("Resource linkage must be {type, id}", pointer)
        if item.get("type") != rtype:
            raise Conflict(f"Expected type '{rtype}'", pointer + "/data/type")
        rid = item.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or str(rid) == "":
            raise Unprocessable("Resource linkage needs an 'id'", pointer + "/data/id")
        if len(str(rid)) > 64:
            raise Unprocessable("Resource id is too long", pointer + "/data/id")
        return str(rid)

    if many:
        if not isinstance(data, list):
            raise Unprocessable("Expected a list of resource linkages", pointer)
        if len(data) > 1000:
            raise Unprocessable("Too many related resources", pointer)
        return [one(item) for item in data]
    if data is None:
        return None
    return one(data)
