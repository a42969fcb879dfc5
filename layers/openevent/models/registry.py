"""Every PynamoDB model of the system, for table creation and local snapshots."""

from __future__ import annotations

import importlib
import time
from functools import lru_cache

from pynamodb.models import Model

# Each area keeps its models in its own module; a module that does not exist yet is skipped.
MODEL_MODULES = (
    "openevent.models.base",
    "openevent.models.users",
    "openevent.models.system",
    "openevent.models.events",
    "openevent.models.event_content",
    "openevent.models.access_codes",
    "openevent.models.orders",
    "openevent.models.checkin",
    "openevent.lab.store",
    "openevent.lab.streamstore",
)


@lru_cache(maxsize=1)
def all_models() -> tuple[type[Model], ...]:
    found: dict[str, type[Model]] = {}
    for name in MODEL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Model)
                and value is not Model
                and value.__module__ == name
                and hasattr(value.Meta, "table_name")
            ):
                found[value.Meta.table_name] = value
    return tuple(found.values())


def create_tables() -> list[str]:
    """Create every missing table (idempotent); returns the names created.

    Tables are created without PynamoDB's 2-second polling, then awaited together with a
    short poll (moto makes them active at once; DynamoDB within seconds)."""
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(wait=False)
            created.append(model)
        else:
            _add_missing_indexes(model)
    for model in created:
        for _ in range(600):
            status = model.describe_table().get("TableStatus")
            if status == "ACTIVE":
                break
            time.sleep(0.05)
    return [model.Meta.table_name for model in created]


def _add_missing_indexes(model: type[Model]) -> None:
    """Create the global secondary indexes a model declares and its existing table lacks (a
    data directory made by an older version); DynamoDB backfills them from the items."""
    schema = model._get_schema()
    declared = schema.get("global_secondary_indexes", [])
    if not declared:
        return
    connection = model._get_connection().connection
    table = connection.dispatch("DescribeTable", {"TableName": model.Meta.table_name})["Table"]
    present = {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    for gsi in declared:
        if gsi["index_name"] in present:
            continue
        names = [k["AttributeName"] for k in gsi["key_schema"]]
        connection.dispatch("UpdateTable", {
            "TableName": model.Meta.table_name,
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": types[n]}
                                     for n in names],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": gsi["index_name"], "KeySchema": gsi["key_schema"],
                "Projection": gsi["projection"]}}],
        })
