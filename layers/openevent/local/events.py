"""Deliver AWS events to the function groups locally, through the same handler functions.

- S3: each group's `@app.on_s3_event` configs become real bucket notifications in moto,
  which queues them on SQS; the pump receives them and invokes the handler with the same
  Lambda event AWS would send. A handler that raises leaves the message on the queue, so it
  is retried after the visibility timeout (up to `MAX_ATTEMPTS`), as Lambda's async retries.
- Schedules: each `@app.schedule('rate(N unit)')` runs every N units.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any
from urllib.parse import unquote_plus

import boto3

from openevent.settings import get_settings

log = logging.getLogger("openevent.events")
QUEUE_NAME = "openevent-local-s3-events"
MAX_ATTEMPTS = 5
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class _Context:
    function_name = "local"
    aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def rate_seconds(expression: str) -> int | None:
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(region: str) -> dict[str, Any]:
    """The EventBridge event a scheduled Lambda receives."""
    import uuid
    from datetime import UTC, datetime

    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [], "detail": {}}


class EventPump:
    def __init__(self, gateway: Any, stopping: threading.Event) -> None:
        self.gateway = gateway
        self.stopping = stopping
        self.region = get_settings().region
        self.sqs = boto3.client("sqs", region_name=self.region)
        self.s3 = boto3.client("s3", region_name=self.region)
        self.queue_url = ""
        self.s3_handlers: list[tuple[str, Any]] = []  # (group, S3EventConfig)
        self.schedules: list[tuple[str, Any, int]] = []

    def _sources(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for group in self.gateway.pools:
            app = self.gateway.apps(group)
            out.extend((group, src) for src in app.event_sources)
        return out

    def setup(self) -> None:
        for group, source in self._sources():
            kind = type(source).__name__
            if kind == "S3EventConfig":
                self.s3_handlers.append((group, source))
            elif kind == "ScheduledEventConfig":
                seconds = rate_seconds(source.schedule_expression)
                if seconds:
                    self.schedules.append((group, source, seconds))
        if not self.s3_handlers:
            return
        self.queue_url = self.sqs.create_queue(
            QueueName=QUEUE_NAME, Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        by_bucket: dict[str, list[dict[str, Any]]] = {}
        for _, src in self.s3_handlers:
            rules = []
            if src.prefix:
                rules.append({"Name": "prefix", "Value": src.prefix})
            if src.suffix:
                rules.append({"Name": "suffix", "Value": src.suffix})
            config: dict[str, Any] = {"QueueArn": arn, "Events": list(src.events)}
            if rules:
                config["Filter"] = {"Key": {"FilterRules": rules}}
            by_bucket.setdefault(src.bucket, []).append(config)
        existing = {b["Name"] for b in self.s3.list_buckets().get("Buckets", [])}
        for bucket, configs in by_bucket.items():
            if bucket not in existing:
                self.s3.create_bucket(Bucket=bucket)
            self.s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs})

    def _matching(self, bucket: str, key: str) -> list[tuple[str, Any]]:
        return [(g, s) for g, s in self.s3_handlers
                if s.bucket == bucket and key.startswith(s.prefix or "")
                and key.endswith(s.suffix or "")]

    def deliver(self, record: dict[str, Any]) -> None:
        bucket = record["s3"]["bucket"]["name"]
        # Keys arrive URL-encoded in event records, as in AWS (Chalice's S3Event decodes them).
        key = unquote_plus(record["s3"]["object"]["key"])
        log.info("S3 event %s s3://%s/%s", record.get("eventName"), bucket, key)
        for group, src in self._matching(bucket, key):
            app = self.gateway.apps(group)
            app.handler_map[src.name]({"Records": [record]}, _Context())

    def run_s3(self) -> None:
        if not self.queue_url:
            return
        while not self.stopping.is_set():
            try:
                resp = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                    AttributeNames=["ApproximateReceiveCount"])
            except Exception as exc:  # noqa: BLE001 - moto stopping or restarting
                if self.stopping.is_set():
                    return
                log.warning("receive failed: %s", exc)
                time.sleep(1)
                continue
            for message in resp.get("Messages", []):
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            body = json.loads(message["Body"])
            for record in body.get("Records", []):  # s3:TestEvent has no Records
                self.deliver(record)
        except Exception:  # noqa: BLE001 - leave it queued: SQS redelivers it (a retry)
            log.exception("S3 event handler failed (attempt %s)", attempts)
            if attempts < MAX_ATTEMPTS:
                return
            log.error("giving up on S3 event after %s attempts", attempts)
        self.sqs.delete_message(QueueUrl=self.queue_url,
                                ReceiptHandle=message["ReceiptHandle"])

    def run_schedules(self) -> None:
        next_run = {src.name: time.monotonic() + 5 for _, src, _ in self.schedules}
        while not self.stopping.wait(1.0):
            for group, src, seconds in self.schedules:
                if time.monotonic() < next_run[src.name]:
                    continue
                next_run[src.name] = time.monotonic() + seconds
                try:
                    app = self.gateway.apps(group)
                    app.handler_map[src.name](scheduled_event(self.region), _Context())
                except Exception:  # noqa: BLE001 - a failing job must not stop the others
                    log.exception("scheduled job %s failed", src.name)
