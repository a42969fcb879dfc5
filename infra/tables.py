"""DynamoDB table specs derived from the PynamoDB models: one source of truth for keys and
indexes, shared by the local runtime (which creates tables from the models) and the CDK stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Which tables each function group's role may touch (least privilege), and the ticket
# renderer's own role; names without the prefix. Checked locally: every function runs with
# its role's statements from the synthesized template (`openevent.local.iam`).
GROUP_TABLES: dict[str, dict[str, str]] = {
    "auth": {"users": "rw", "mail-tokens": "rw", "rate-limits": "rw", "settings": "rw",
             "modules": "rw", "uniques": "rw", "events": "r", "orders": "r",
             "event-roles": "rw", "role-invites": "rw", "system-records": "rw",
             "statistics": "rw", "order-figures": "r", "discount-codes": "r"},
    "events": {"events": "rw", "event-roles": "rw", "tickets": "rw", "seat-shards": "rw",
               "discount-codes": "rw", "taxes": "rw", "tracks": "rw", "sponsors": "rw",
               "microlocations": "rw", "social-links": "rw", "custom-forms": "rw",
               "stripe-authorizations": "rw", "access-codes": "rw",
               "tags": "rw", "uniques": "rw", "users": "r", "settings": "r",
               "modules": "r", "orders": "rw", "attendees": "r", "statistics": "rw",
               "order-figures": "rw"},  # a new location moves its orders' sales roll-up
    "orders": {"orders": "rw", "attendees": "rw", "payment-records": "rw", "tickets": "rw",
               "seat-shards": "rw", "discount-codes": "rw", "events": "rw", "event-roles": "r",
               "users": "rw",
               "settings": "r", "modules": "r", "taxes": "r", "custom-forms": "r",
               "stripe-authorizations": "rw", "uniques": "rw",
               "hold-counts": "rw", "idempotency": "rw", "statistics": "rw",
               "order-figures": "rw", "checkin": "rw", "access-codes": "rw",
               "rate-limits": "rw"},
    "lab": {"lab-devices": "rw", "lab-calls": "rw", "lab-scripts": "rw", "lab-runs": "rw",
            "lab-run-output": "rw", "lab-streams": "rw", "users": "r"},
    # The ticket renderer (orders code, its own role): links the PDFs to the order and its
    # attendees, claims each mail once, counts sent mail.
    "renderer": {"orders": "rw", "attendees": "rw", "uniques": "rw", "statistics": "rw",
                 "settings": "r", "modules": "r", "events": "r", "users": "r"},
}


@dataclass
class TableSpec:
    name: str  # without prefix
    hash_key: tuple[str, str]  # (attribute, S|N)
    range_key: tuple[str, str] | None
    indexes: list[dict[str, Any]] = field(default_factory=list)


def table_specs(prefix: str) -> list[TableSpec]:
    from openevent.models.registry import all_models

    specs = []
    for model in all_models():
        schema = model._get_schema()
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
        keys = {k["KeyType"]: k["AttributeName"] for k in schema["key_schema"]}
        indexes = []
        for gsi in schema.get("global_secondary_indexes", []):
            gkeys = {k["KeyType"]: k["AttributeName"] for k in gsi["key_schema"]}
            indexes.append({
                "name": gsi["index_name"],
                "hash_key": (gkeys["HASH"], types[gkeys["HASH"]]),
                "range_key": (gkeys["RANGE"], types[gkeys["RANGE"]]) if "RANGE" in gkeys
                else None,
            })
        table_name = model.Meta.table_name
        specs.append(TableSpec(
            name=table_name[len(prefix):] if table_name.startswith(prefix) else table_name,
            hash_key=(keys["HASH"], types[keys["HASH"]]),
            range_key=(keys["RANGE"], types[keys["RANGE"]]) if "RANGE" in keys else None,
            indexes=indexes,
        ))
    return specs
