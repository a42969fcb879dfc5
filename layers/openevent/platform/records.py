"""Admin-managed system records (ticket fees, user permissions, custom system roles, panel
permissions): anyone logged in reads them, admins create, change and delete them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from openevent.errors import NotFound, Unprocessable, relationship_pointer
from openevent.models.base import next_id
from openevent.models.system import SystemRecord


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def list_records(kind: str) -> list[SystemRecord]:
    return list(SystemRecord.query(kind))


def get_record(kind: str, record_id: int) -> SystemRecord:
    try:
        return SystemRecord.get(kind, record_id)
    except SystemRecord.DoesNotExist:
        raise NotFound(f"{kind} {record_id} not found") from None


def _linked(links: dict[str, str], relationships: dict[str, Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name, target in links.items():
        if name not in relationships:
            continue
        ids = relationships[name] or []
        if not all(str(i).isdigit() and len(str(i)) <= 18 for i in ids):
            raise Unprocessable(f"'{name}' ids must be numbers", relationship_pointer(name))
        numbers = [int(i) for i in ids]
        found = {r.id for r in SystemRecord.batch_get([(target, i) for i in numbers])}
        if set(numbers) - found:
            raise Unprocessable(f"Unknown {target} in '{name}'", relationship_pointer(name))
        out[name] = numbers
    return out


def create_record(kind: str, values: dict[str, Any], links: dict[str, str],
                  relationships: dict[str, Any]) -> SystemRecord:
    data = {k: _plain(v) for k, v in values.items() if v is not None}
    data.update(_linked(links, relationships))
    record = SystemRecord(kind, next_id(f"system-record#{kind}"), data=json.dumps(data))
    record.save(condition=SystemRecord.id.does_not_exist())
    return record


def update_record(record: SystemRecord, values: dict[str, Any], links: dict[str, str],
                  relationships: dict[str, Any]) -> SystemRecord:
    data = json.loads(record.data or "{}")
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = _plain(value)
    data.update(_linked(links, relationships))
    record.update(actions=[SystemRecord.data.set(json.dumps(data))])
    return record


def delete_record(record: SystemRecord) -> None:
    record.delete()
