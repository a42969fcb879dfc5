"""Wire resources of the lab group: the `lab-script` JSON:API type."""

from __future__ import annotations

from typing import Any

from openevent.jsonapi.document import Resource, Schema
from openevent.jsonapi.fields import DateTime, String

MAX_CODE = 64 * 1024

LAB_SCRIPT = Schema(
    type="lab-script",
    path="lab/scripts",
    fields={
        "title": String(required=True, nullable=False, max_length=200, min_length=1),
        "code": String(required=True, nullable=False, max_length=MAX_CODE),
        "created_at": DateTime(read_only=True),
        "updated_at": DateTime(read_only=True),
    },
)


def lab_script_resource(script: Any) -> Resource:
    values = {"title": script.title, "code": script.code, "created_at": script.created_at,
              "updated_at": script.updated_at}
    return Resource(LAB_SCRIPT, script.id, values)
