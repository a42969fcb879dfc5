"""Keep local data across restarts: export moto's tables and buckets to the data directory.

moto keeps state in memory only, so the local runtime exports every table (an admin export,
paginated) and every object to `<data dir>/snapshot/` every few seconds and at shutdown, and
imports it again at start. Objects whose ETag did not change are hard-linked from the
previous snapshot instead of downloaded again, so ticket PDFs cost one download each.
A hard kill loses at most the last interval. This runs only in the local runtime; in AWS,
DynamoDB and S3 are the durable stores.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import boto3

from openevent.settings import get_settings

log = logging.getLogger("openevent.snapshot")


def _clients() -> tuple[Any, Any]:
    region = get_settings().region
    return boto3.client("dynamodb", region_name=region), boto3.client("s3", region_name=region)


def export_state(data_dir: Path) -> int:
    """Write every table's items and every object under `data_dir/snapshot`; returns items."""
    ddb, s3 = _clients()
    target = data_dir / "snapshot"
    tmp = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=data_dir))
    total = 0
    try:
        (tmp / "dynamodb").mkdir()
        for table in ddb.list_tables().get("TableNames", []):
            items: list[dict[str, Any]] = []
            for page in ddb.get_paginator("scan").paginate(TableName=table):  # admin export
                items.extend(page.get("Items", []))
            (tmp / "dynamodb" / f"{table}.json").write_text(json.dumps(items))
            total += len(items)
        previous = _load_index(target)
        index: dict[str, str] = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    ref = f"{name}/{obj['Key']}"
                    path = tmp / "s3" / ref
                    path.parent.mkdir(parents=True, exist_ok=True)
                    old = target / "s3" / ref
                    if previous.get(ref) == obj["ETag"] and old.is_file():
                        os.link(old, path)  # unchanged since the last snapshot: no download
                    else:
                        path.write_bytes(s3.get_object(Bucket=name, Key=obj["Key"])[
                            "Body"].read())
                    index[ref] = obj["ETag"]
                    total += 1
        (tmp / "s3-index.json").write_text(json.dumps(index))
        old = data_dir / ".snapshot-old"
        if target.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return total


def _load_index(snapshot: Path) -> dict[str, str]:
    try:
        return dict(json.loads((snapshot / "s3-index.json").read_text()))
    except (OSError, ValueError):
        return {}


def import_state(data_dir: Path) -> int:
    """Load a snapshot into freshly provisioned tables and buckets; returns items loaded."""
    source = data_dir / "snapshot"
    if not source.exists():
        return 0
    ddb, s3 = _clients()
    total = 0
    tables = set(ddb.list_tables().get("TableNames", []))
    for file in sorted((source / "dynamodb").glob("*.json")):
        table = file.stem
        if table not in tables:
            log.warning("snapshot table %s no longer exists; skipped", table)
            continue
        items = json.loads(file.read_text())
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
            pending: dict[str, Any] = {table: batch}
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
        total += len(items)
    s3_root = source / "s3"
    if s3_root.exists():
        for bucket_dir in s3_root.iterdir():
            for path in bucket_dir.rglob("*"):
                if path.is_file():
                    key = path.relative_to(bucket_dir).as_posix()
                    s3.put_object(Bucket=bucket_dir.name, Key=key, Body=path.read_bytes())
                    total += 1
    return total
