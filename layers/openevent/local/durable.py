"""The embedded AWS's durable application: every acknowledged write is on disk.

Guarantees (with a data dir): every mutating DynamoDB and S3 call goes through one lock that
appends the request, as received, to the journal (`openevent.local.store`) and applies it;
the answer leaves only once the record is fsync'd (group commit: concurrent writers share an
fsync). A call that cannot be journaled is not applied and answers 503 with `Retry-After`:
a full disk (writes resume by themselves once space returns), a failed journal (until
restart), a deleted journal (until `rescue` wrote everything in memory as a new generation).
The journal is generic — AWS calls, not the application's data — so it holds whatever the
application writes. `load` puts the newest snapshot generation and the journal replayed on
top back into moto before serving. `snapshot` cuts one consistent generation (under the
same lock, so no write is half-applied) and starts a new journal. SQS, SES and IoT state is
not kept (queues and topics are provisioned at every start).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openevent.local import store
from openevent.local.moto_wire import (
    call,
    classify,
    create_params,
    fake_auth,
    make_environ,
    read_body,
)

log = logging.getLogger("openevent.moto")
READY_PATH = "/openevent/ready"
HEALTH_PATH = "/openevent/health"


def say(line: str) -> None:
    """One line on stderr (the runtime relays it to its own stderr), never raising: on a
    full disk a log file may not take it."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass



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
        body = read_body(environ)
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
                say("openevent: disk space is back; writes are accepted again.")
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
            say(f"openevent: the disk is full ({reason}); writes answer 503 and are not "
                "applied until space is freed, then resume by themselves.")

    def _fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            say(f"openevent: the journal failed ({reason}); writes are refused until "
                "restart. Check the disk, then restart.")

    def _lose(self, reason: str) -> None:
        """The journal file is gone: refuse writes until a snapshot of everything in memory
        is written (`rescue`, run by the snapshot loop)."""
        if self.lost is None:
            self.lost = reason
            say(f"openevent: {reason}; writes answer 503 until a snapshot of everything "
                "in memory is written.")
            self.wake.set()

    def rescue(self) -> int | None:
        """Write every table and object held in memory as a new generation with a new
        journal (after the journal was deleted); writes are accepted again once it is on
        disk. Returns the generation's number."""
        number = self.snapshot(force=True, rescue=True)
        if number is not None:
            self.lost = None
            say(f"openevent: wrote everything in memory to {store.gen_path(self.store, number)}"
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
                "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": fake_auth(region, service)}
        for key, value in (headers or {}).items():
            name = key.upper().replace("-", "_")
            base[name if name == "CONTENT_TYPE" else f"HTTP_{name}"] = value
        status, _, out = call(self.app, make_environ(base, body))
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
            status, _, out = call(self.app, make_environ(base, body))
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
                        "region": region, "create": create_params(desc),
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
