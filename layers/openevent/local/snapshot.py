"""Data directories from before the journal: `<data dir>/snapshot/` (one JSON file per table,
one file per object), imported once into a store that is still empty.

The durable store is `openevent.local.store` (snapshot generations plus a journal, kept by
the embedded AWS itself, `openevent.local.durable`). The import goes through the API like
any write, so it is journaled; the old folder is left in place and ignored afterwards.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import boto3

from openevent.local.process import StartupError
from openevent.settings import get_settings

log = logging.getLogger("openevent.snapshot")


def import_legacy(data_dir: Path) -> int:
    """Load an old-format snapshot into the provisioned tables and buckets; returns items."""
    source = data_dir / "snapshot"
    if not (source / "dynamodb").is_dir():
        return 0
    region = get_settings().region
    ddb, s3 = boto3.client("dynamodb", region_name=region), boto3.client("s3", region_name=region)
    total = 0
    tables = set(ddb.list_tables().get("TableNames", []))
    for file in sorted((source / "dynamodb").glob("*.json")):
        if file.stem not in tables:
            log.warning("snapshot table %s no longer exists; skipped", file.stem)
            continue
        try:
            items = json.loads(file.read_text())
        except ValueError:
            raise StartupError(f"openevent: damaged data: {file}: not valid JSON (an old-format "
                               "snapshot). Restore it from a backup or move the snapshot "
                               "folder away.") from None
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                file.stem: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
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
