"""moto's server as the local runtime's embedded AWS: atomic per call, and durable.

Atomic: moto checks a transaction's conditions, applies it, and on failure restores a deep
copy of whole tables — without a lock. Under concurrent requests it can interleave two
transactions or roll back another request's committed write. One lock per backend call
restores DynamoDB's per-item atomicity (and more). Used by the local runtime, the tests
(in-process) and the benchmarks.

Durable (with `--data-dir`): every mutating DynamoDB and S3 call goes through one lock that
applies it and appends the request, as received, to the journal (`openevent.local.store`);
the answer leaves only once the record is fsync'd (group commit: concurrent writers share an
fsync). The journal is generic — AWS calls, not the application's data — so it holds
whatever the application writes. At start the newest snapshot generation is loaded and the
journal replayed on top. Snapshots are one consistent cut (taken under the same lock, so no
write is half-applied) every `OPENEVENT_SNAPSHOT_SECONDS` (60) or
`OPENEVENT_SNAPSHOT_RECORDS` (5000) journal records, and at SIGTERM; each starts a new
journal. SQS, SES and IoT state is not kept (queues and topics are provisioned at every start).

The server ignores SIGINT (Ctrl-C in the terminal reaches the whole process group; the
runtime drains the API first, then sends SIGTERM) and exits when its stdin closes, i.e. when
the runtime is gone, even after a kill -9.

    python -m openevent.local.moto_server -H 127.0.0.1 -p 5000 [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from openevent.local import store

log = logging.getLogger("openevent.moto")
_lock = threading.RLock()
_CALLS = ("transact_write_items", "transact_get_items", "update_item", "put_item",
          "delete_item", "get_item", "query", "scan", "batch_get_item", "batch_write_item")
JOURNALED = ("dynamodb", "s3")
_DYNAMODB_READS = ("Get", "BatchGet", "Query", "Scan", "TransactGet", "Describe", "List")
READY_PATH = "/openevent/ready"
HEALTH_PATH = "/openevent/health"


def _say(line: str) -> None:
    """One line on stderr (the runtime relays it to its own stderr), never raising: on a
    full disk a log file may not take it."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _locked(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return fn(*args, **kwargs)

    return wrapper


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a whole `Table` is
    not deep-copied (see `_item_backups`); anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_backups(original: Any) -> Any:
    """moto backs up every table a transaction touches with a deep copy of the whole table:
    O(table) time and garbage per transaction (p50 30 s and a 4.9 GB moto after
    bench/load.py's 3,000 requests). Back up only the items the transaction names and put
    them back if it fails — the same outcome, as the backend is serialized (`_lock`)."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        backups = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            attrs = (op.get("Key") or op.get("Item") or {}) if table is not None else {}
            if table is None or table.hash_key_attr not in attrs or (
                    table.range_key_attr and table.range_key_attr not in attrs):
                continue  # moto refuses it before changing anything
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr \
                else None
            current = (table.items.get(hash_key, {}).get(range_key) if range_key is not None
                       else table.items.get(hash_key))
            backups.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    return transact_write_items


def lock_moto_dynamodb() -> None:
    """Serialize moto's DynamoDB backend calls, with item-level transaction rollback
    (idempotent)."""
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_openevent_locked", False):
        return
    backend_module.copy = _NoTableCopies  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _item_backups(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items)
    for name in _CALLS:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend._openevent_locked = True  # type: ignore[attr-defined]


def untrack_moto_models() -> None:
    """Stop moto from keeping every model object it ever made (idempotent).

    moto's `BaseModel.__new__` appends each instance to its class's `instances_tracked`
    list, for moto's own dashboard, and nothing ever removes them. A DynamoDB Query
    deep-copies every item it returns (new `Item` objects), and every write makes new
    ones: the embedded AWS grew with the number of requests (108 -> 159 MB over 3,000
    reads; 98 -> 379 MB over 1,600 mixed requests, 104 MB for the same data after a
    restart; found with OPENEVENT_MOTO_TRACEMALLOC: 7 MB of query copies alive after 800
    reads). The dashboard is not used here: instances are no longer tracked."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    if getattr(BaseModel, "_openevent_untracked", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - moto's hook
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign, assignment]
    BaseModel._openevent_untracked = True  # type: ignore[attr-defined]
    reset_model_data()  # drop what was tracked so far


def model_transaction_conflicts(millis: float) -> Callable[[], None]:
    """Model DynamoDB's transaction conflicts (benchmarks only): a TransactWriteItems is in
    flight for `millis` ms, and another one naming any of its items meanwhile is cancelled
    with `TransactionConflict` — as DynamoDB does, rather than queueing it. Without this
    the serialized backend never conflicts, and a benchmark could not show what one hot item
    costs against N shards. The time is spent outside the backend lock, so transactions on
    different items overlap as they do in DynamoDB. Returns the function that turns it off."""
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend

    inner = DynamoDBBackend.transact_write_items
    in_flight: set[tuple[str, str]] = set()
    guard = threading.Lock()

    def key_of(entry: dict[str, Any]) -> tuple[str, str]:
        _, op = next(iter(entry.items()))
        if not isinstance(op, dict):
            return ("", "")
        key = op.get("Key") or op.get("Item") or {}
        return (str(op.get("TableName")), json.dumps(key, sort_keys=True))

    @functools.wraps(inner)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        keys = [key_of(entry) for entry in transact_items]
        with guard:
            busy = [k in in_flight for k in keys]
            if any(busy):
                raise TransactionCanceledException([
                    ("TransactionConflict", "Transaction is ongoing for the item", None)
                    if b else (None, None, None) for b in busy])
            in_flight.update(keys)
        try:
            time.sleep(millis / 1000)
        finally:
            with guard:
                in_flight.difference_update(keys)
        # applied after its window (waiting for the serialized backend is not DynamoDB time)
        return inner(self, transact_items)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        DynamoDBBackend.transact_write_items = inner  # type: ignore[method-assign]

    return undo


# -- which calls change state -------------------------------------------------------------
def classify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, region) of a state-changing call to a journaled service, else None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:  # a presigned URL carries its scope in the query
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        scope = (query.get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    if len(parts) != 5:
        return None
    region, service = parts[2], parts[3].lower()
    if service not in JOURNALED:
        return None
    if service == "dynamodb":
        action = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        if not action or action.startswith(_DYNAMODB_READS):
            return None
    elif environ.get("REQUEST_METHOD", "GET").upper() in {"GET", "HEAD", "OPTIONS"}:
        return None
    return service, region


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def _environ(base: dict[str, str], body: bytes) -> dict[str, Any]:
    environ: dict[str, Any] = dict(base)
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                    "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
                    "wsgi.url_scheme": "http", "wsgi.multithread": True,
                    "wsgi.multiprocess": False, "wsgi.run_once": False})
    environ.setdefault("SERVER_NAME", "127.0.0.1")
    environ.setdefault("SERVER_PORT", "80")
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")
    environ.setdefault("SCRIPT_NAME", "")
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app on an environ; (status line, headers, body)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    result: Iterable[bytes] = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def _fake_auth(region: str, service: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


# -- the durable application --------------------------------------------------------------
class DurableApp:
    """WSGI middleware: journal every state-changing DynamoDB/S3 call before answering."""

    def __init__(self, app: Any, store_dir: Path) -> None:
        self.app = app
        self.store = store_dir
        self.lock = threading.Lock()  # apply + append, and the snapshot cut
        self.cut_lock = threading.Lock()  # one snapshot at a time
        self.journal: store.Journal | None = None
        self.number = 0  # the journal being appended to
        self.generation: int | None = None
        self.failed: str | None = None  # the journal cannot be trusted: until restart
        self.disk_full: str | None = None  # the last append found no space (retried)
        self.lost: str | None = None  # the journal file was deleted (until `rescue`)
        self.wake = threading.Event()  # the snapshot loop has work now
        self.durable = False  # serving: every state-changing call goes to the journal
        self.regions: set[str] = {os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        self.dirty = 0
        self.last_cut = time.monotonic()
        self.endpoint = ""
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}  # ETag cache for cuts
        self.ready: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == READY_PATH:
            return self._answer(start_response, "200 OK" if self.ready else "503 Loading",
                                json.dumps(self.ready or {}).encode(), "application/json")
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return self._answer(start_response, "200 OK", json.dumps(
                {"writes": "refused" if self.refusing() else "ok",
                 "problem": self.refusing()}).encode(), "application/json")
        kind = classify(environ) if self.durable else None
        if kind is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        payload = store.encode_request(environ, body)
        with self.lock:  # journaled first, then applied: what cannot be journaled is not done
            if self.journal is None and self.failed is None:
                try:  # the disk was full at start
                    self.open_journal()
                except store.JournalError as exc:
                    self._full(str(exc))
            journal = self.journal
            if self.failed is not None or self.lost is not None or journal is None:
                return self._unavailable(start_response)
            if journal.unlinked():
                self._lose(f"the journal {journal.path} was deleted or replaced")
                return self._unavailable(start_response)
            try:
                seq = journal.append(payload)
            except store.JournalFull as exc:
                self._full(str(exc))
                return self._unavailable(start_response)
            except store.JournalError as exc:
                self._fail(str(exc))
                return self._unavailable(start_response)
            if self.disk_full is not None:
                self.disk_full = None
                _say("openevent: disk space is back; writes are accepted again.")
            status, headers, out = call(self.app, environ)
            if status.startswith("2"):
                self.regions.add(kind[1])
                self.dirty += 1
            else:
                journal.discard(seq, payload)  # refused: it changed nothing
                seq = 0
        if seq:
            try:
                journal.sync(seq)
            except store.JournalError as exc:
                self._fail(str(exc))
                return self._unavailable(start_response)
        start_response(status, headers)
        return [out]

    @staticmethod
    def _answer(start_response: Any, status: str, body: bytes, ctype: str,
                headers: list[tuple[str, str]] | None = None) -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                *(headers or [])])
        return [body]

    def refusing(self) -> str | None:
        """Why writes are refused now (None: they are accepted)."""
        return self.failed or self.lost or self.disk_full

    def _full(self, reason: str) -> None:
        if self.disk_full is None:
            self.disk_full = reason
            _say(f"openevent: the disk is full ({reason}); writes answer 503 and are not "
                 "applied until space is freed, then resume by themselves.")

    def _fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            _say(f"openevent: the journal failed ({reason}); writes are refused until "
                 "restart. Check the disk, then restart.")

    def _lose(self, reason: str) -> None:
        """The journal file is gone: refuse writes until a snapshot of everything in memory
        is written (`rescue`, run by the snapshot loop)."""
        if self.lost is None:
            self.lost = reason
            _say(f"openevent: {reason}; writes answer 503 until a snapshot of everything "
                 "in memory is written.")
            self.wake.set()

    def rescue(self) -> int | None:
        """Write every table and object held in memory as a new generation with a new
        journal (after the journal was deleted); writes are accepted again once it is on
        disk. Returns the generation's number."""
        number = self.snapshot(force=True, rescue=True)
        if number is not None:
            self.lost = None
            _say(f"openevent: wrote everything in memory to {store.gen_path(self.store, number)}"
                 "; writes are accepted again.")
        return number

    def _unavailable(self, start_response: Any) -> list[bytes]:
        body = json.dumps({"__type": "ServiceUnavailable",
                           "message": f"journal unavailable: {self.refusing()}"}).encode()
        return self._answer(start_response, "503 Service Unavailable", body,
                            "application/x-amz-json-1.0", [("Retry-After", "5")])

    # -- loading ----------------------------------------------------------------------
    def _request(self, method: str, path: str, region: str, service: str,
                 headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[str, bytes]:
        raw_path, _, query = path.partition("?")
        base = {"REQUEST_METHOD": method, "PATH_INFO": urllib.parse.unquote(raw_path),
                "QUERY_STRING": query, "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1",
                "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": _fake_auth(region, service)}
        for key, value in (headers or {}).items():
            name = key.upper().replace("-", "_")
            base[name if name == "CONTENT_TYPE" else f"HTTP_{name}"] = value
        status, _, out = call(self.app, _environ(base, body))
        return status, out

    def _dynamodb(self, region: str, action: str, params: dict[str, Any]) -> None:
        status, out = self._request("POST", "/", region, "dynamodb", {
            "X-Amz-Target": f"DynamoDB_20120810.{action}",
            "Content-Type": "application/x-amz-json-1.0"}, json.dumps(params).encode())
        if not status.startswith("2"):
            raise RuntimeError(f"restoring {action} failed: {status} {out[:300]!r}")

    def load(self, plan: store.Plan) -> dict[str, Any]:
        """Load generation + journals into moto (before serving); returns counts."""
        items = objects = 0
        if plan.generation is not None:
            dynamodb, s3 = store.read_generation(store.gen_path(self.store, plan.generation))
            items = self._load_dynamodb(dynamodb)
            objects = self._load_s3(s3, store.gen_path(self.store, plan.generation))
        failed = 0
        for payload in plan.replay():
            base, body = store.decode_request(payload)
            kind = classify(base)
            if kind is not None:
                self.regions.add(kind[1])
            status, _, out = call(self.app, _environ(base, body))
            if not status.startswith("2"):
                failed += 1
                log.warning("journal record replayed with %s: %r", status, out[:200])
        self.generation = plan.generation
        self.number = plan.append_to
        return {"generation": plan.generation, "items": items, "objects": objects,
                "replayed": plan.records, "replay_failures": failed}

    def _load_dynamodb(self, doc: dict[str, Any]) -> int:
        count = 0
        for table in doc["tables"]:
            region = table["region"]
            self.regions.add(region)
            self._dynamodb(region, "CreateTable", table["create"])
            if table.get("ttl"):
                self._dynamodb(region, "UpdateTimeToLive", {
                    "TableName": table["create"]["TableName"],
                    "TimeToLiveSpecification": table["ttl"]})
            rows = table["items"]
            for start in range(0, len(rows), 25):
                self._dynamodb(region, "BatchWriteItem", {"RequestItems": {
                    table["create"]["TableName"]: [{"PutRequest": {"Item": item}}
                                                   for item in rows[start:start + 25]]}})
            count += len(rows)
        return count

    def _load_s3(self, doc: dict[str, Any], generation: Path) -> int:
        count = 0
        for bucket in doc["buckets"]:
            region = bucket.get("region") or "us-east-1"
            body = b""
            if region != "us-east-1":
                body = ("<CreateBucketConfiguration><LocationConstraint>"
                        f"{region}</LocationConstraint></CreateBucketConfiguration>").encode()
            status, out = self._request("PUT", "/" + urllib.parse.quote(bucket["name"]),
                                        region, "s3", body=body)
            if not status.startswith("2"):
                raise RuntimeError(f"restoring bucket {bucket['name']}: {status} {out[:200]!r}")
            for obj in bucket["objects"]:
                data = (generation / "objects" / obj["sha256"]).read_bytes()
                headers = {"Content-Type": obj.get("content_type")
                           or "binary/octet-stream"}
                headers.update({f"x-amz-meta-{k}": v
                                for k, v in (obj.get("metadata") or {}).items()})
                path = "/" + urllib.parse.quote(bucket["name"]) + "/" + urllib.parse.quote(
                    obj["key"], safe="/~")
                status, out = self._request("PUT", path, region, "s3", headers, data)
                if not status.startswith("2"):
                    raise RuntimeError(f"restoring s3://{bucket['name']}/{obj['key']}: "
                                       f"{status} {out[:200]!r}")
                etag = f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's ETag
                self.objects[(bucket["name"], obj["key"])] = dict(obj, etag=etag)
                count += 1
        return count

    # -- snapshots --------------------------------------------------------------------
    def _capture_dynamodb(self) -> dict[str, Any]:
        """Every table's definition and items, read from moto's memory (the caller holds
        the write lock: this is the consistent cut, so it must be quick)."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.utilities import dynamo_json_dump  # as moto answers

        tables = []
        for account in list(dynamodb_backends.values()):
            for region, backend in list(account.items()):
                for table in list(backend.tables.values()):
                    desc = table.describe(base_key="Table")["Table"]
                    ttl = table.ttl or {}
                    tables.append({
                        "region": region, "create": _create_params(desc),
                        "ttl": ({"Enabled": True, "AttributeName": ttl["AttributeName"]}
                                if ttl.get("TimeToLiveStatus") == "ENABLED" else None),
                        # serialized now (wire JSON): items change once the lock is released
                        "items": json.loads(dynamo_json_dump(
                            [item.to_json()["Attributes"] for item in table.all_items()]))})
        return {"tables": tables}

    def _capture_s3(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        import boto3

        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
        blobs: dict[str, bytes] = {}
        buckets = []
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
            objects = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for entry in page.get("Contents", []):
                    ref = (name, entry["Key"])
                    cached = self.objects.get(ref)
                    if cached is None or cached["etag"] != entry["ETag"]:
                        got = s3.get_object(Bucket=name, Key=entry["Key"])
                        data = got["Body"].read()
                        digest = hashlib.sha256(data).hexdigest()
                        blobs[digest] = data
                        cached = {"key": entry["Key"], "sha256": digest, "etag": entry["ETag"],
                                  "content_type": got.get("ContentType"),
                                  "metadata": got.get("Metadata") or {}}
                    seen[ref] = cached
                    objects.append({k: v for k, v in cached.items() if k != "etag"})
            buckets.append({"name": name, "region": region, "objects": objects})
        self.objects = seen
        return {"buckets": buckets}, blobs

    def snapshot(self, force: bool = False, rescue: bool = False) -> int | None:
        """Cut a new generation if anything changed (or `force`); returns its number.
        `rescue`: the files of the store may be gone, so every object body is read from
        memory (none is linked from an older generation) and the store is re-created."""
        with self.cut_lock:
            with self.lock:
                if self.journal is None or self.failed is not None:
                    return None
                if self.lost is not None and not rescue:
                    return None
                if not self.dirty and not force:
                    return None
                if rescue:
                    self.objects = {}
                    self.store.mkdir(parents=True, exist_ok=True)
                    if not (self.store / "LOCK").exists():
                        store.lock(self.store)
                dynamodb = self._capture_dynamodb()
                s3, blobs = self._capture_s3()
                number = self.number + 1
                journal = store.Journal(store.journal_path(self.store, number))
                try:
                    self.journal.close()
                except OSError as exc:  # its records are in this cut anyway
                    log.warning("closing %s: %s", self.journal.path, exc)
                self.journal, self.number = journal, number
                self.dirty = 0
                self.last_cut = time.monotonic()
            previous = self.generation
            store.write_generation(self.store, number, dynamodb, s3, blobs)
            self.generation = number
            store.prune(self.store, keep_from=previous if previous is not None and not rescue
                        else number)
            return number

    def open_journal(self) -> None:
        self.durable = True
        self.journal = store.Journal(store.journal_path(self.store, self.number))


def _create_params(desc: dict[str, Any]) -> dict[str, Any]:
    """CreateTable parameters that rebuild a table described by DescribeTable."""
    params: dict[str, Any] = {k: desc[k] for k in ("TableName", "KeySchema",
                                                   "AttributeDefinitions")}
    on_demand = desc.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"

    def throughput(source: dict[str, Any]) -> dict[str, int]:
        given = source.get("ProvisionedThroughput") or {}
        return {"ReadCapacityUnits": int(given.get("ReadCapacityUnits") or 1),
                "WriteCapacityUnits": int(given.get("WriteCapacityUnits") or 1)}

    if on_demand:
        params["BillingMode"] = "PAY_PER_REQUEST"
    else:
        params["ProvisionedThroughput"] = throughput(desc)
    if desc.get("GlobalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
             "Projection": g["Projection"], **({} if on_demand else
                                               {"ProvisionedThroughput": throughput(g)})}
            for g in desc["GlobalSecondaryIndexes"]]
    if desc.get("LocalSecondaryIndexes"):
        params["LocalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
             "Projection": g["Projection"]} for g in desc["LocalSecondaryIndexes"]]
    stream = desc.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        params["StreamSpecification"] = stream
    return params


# -- process ------------------------------------------------------------------------------
def _watch_parent() -> None:
    """Exit when stdin reaches EOF: the runtime that holds its other end is gone."""
    def watch() -> None:
        try:
            while os.read(0, 1):
                pass
        except OSError:
            pass
        os._exit(0)  # every acknowledged write is already in the fsync'd journal

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _trace_memory(data_dir: Path) -> None:
    """`OPENEVENT_MOTO_TRACEMALLOC=1` (diagnosis): the first SIGUSR1 starts tracing
    allocations; each later one appends the 25 largest growths since the previous one, by
    traceback, to `<data dir>/moto-tracemalloc.txt`."""
    import tracemalloc

    previous: list[Any] = []

    def dump(*_: Any) -> None:
        import gc

        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start(25)
            previous[:] = [tracemalloc.take_snapshot()]
            return
        now = tracemalloc.take_snapshot()
        with (data_dir / "moto-tracemalloc.txt").open("a") as out:
            out.write(f"--- {time.ctime()} traced {tracemalloc.get_traced_memory()[0]} B\n")
            for stat in now.compare_to(previous[0], "traceback")[:25]:
                out.write(f"{stat.size_diff / 1024:.0f} KiB in {stat.count_diff} blocks\n")
                out.write("\n".join(stat.traceback.format()[-14:]) + "\n")
        previous[0] = now

    signal.signal(signal.SIGUSR1, dump)


def serve_durable(host: str, port: int, data_dir: Path, watch_parent: bool) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    app_box: list[DurableApp] = []

    def on_term(*_: Any) -> None:
        stop.set()
        if app_box:
            app_box[0].wake.set()

    signal.signal(signal.SIGTERM, on_term)
    if watch_parent:
        _watch_parent()
    if os.environ.get("OPENEVENT_MOTO_TRACEMALLOC") == "1":
        _trace_memory(data_dir)
    store_dir = store.store_dir(data_dir)
    try:
        store.lock(store_dir, wait=10.0)
    except store.InUse as exc:
        print(str(exc), file=sys.stderr, flush=True)
        sys.exit(3)
    try:
        plan = store.plan(store_dir)
    except store.DamagedData as exc:
        print(store.describe(exc), file=sys.stderr, flush=True)
        sys.exit(3)
    app = DurableApp(DomainDispatcherApplication(create_backend_app), store_dir)
    app_box.append(app)
    counts = app.load(plan)
    store_dir.mkdir(parents=True, exist_ok=True)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    app.endpoint = f"http://{host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        app.open_journal()
    except store.JournalFull as exc:  # start anyway: reads work; writes wait for space
        app.disk_full = str(exc)
        _say(f"openevent: the disk is full ({exc}); writes answer 503 until space is freed.")
    if plan.records and app.journal is not None:
        app.dirty = plan.records  # fold the replayed journal into a fresh generation
        try:
            app.snapshot()
        except OSError as exc:  # the journals still hold everything
            log.warning("snapshot at start failed: %s", exc)
    app.ready = counts
    seconds = float(os.environ.get("OPENEVENT_SNAPSHOT_SECONDS", "60"))
    records = int(os.environ.get("OPENEVENT_SNAPSHOT_RECORDS", "5000"))
    while not stop.is_set():
        app.wake.wait(1.0)
        app.wake.clear()
        journal = app.journal
        if app.lost is None and journal is not None and journal.unlinked():
            with app.lock:
                app._lose(f"the journal {journal.path} was deleted or replaced")
        if app.lost is not None:
            try:
                app.rescue()
            except Exception as exc:  # noqa: BLE001 - retried every second
                log.warning("writing a snapshot from memory failed: %s", exc)
            continue
        due = app.dirty and (app.dirty >= records or time.monotonic() - app.last_cut >= seconds
                             or (app.journal is not None and app.journal.size > 64 << 20))
        if due:
            try:
                app.snapshot()
            except Exception as exc:  # noqa: BLE001 - the journal still holds everything
                log.warning("snapshot failed (%s); the journal keeps every write", exc)
    try:  # while still serving: the cut reads through the API (the runtime has drained)
        app.snapshot()
    except Exception:  # noqa: BLE001
        log.exception("final snapshot failed; the journal keeps every write")
    server.shutdown()
    if app.journal is not None:
        app.journal.close()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    lock_moto_dynamodb()
    untrack_moto_models()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--transaction-ms" in args:  # benchmarks: DynamoDB's transaction conflicts modelled
        at = args.index("--transaction-ms")
        model_transaction_conflicts(float(args[at + 1]))
        del args[at:at + 2]
    if "--data-dir" not in args:
        from moto.server import main as moto_main

        moto_main(args)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--watch-parent", action="store_true")
    opts = parser.parse_args(args)
    from openevent.local.runtime import limit_malloc_retention

    limit_malloc_retention()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    serve_durable(opts.host, opts.port, opts.data_dir, opts.watch_parent)


if __name__ == "__main__":
    main()
