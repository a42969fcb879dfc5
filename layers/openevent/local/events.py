"""Deliver AWS events to the function groups locally, through the same handler functions.

- SQS: each `@app.on_sqs_message(queue=...)` gets the queue's messages in the Lambda event
  format, as the SQS event source mapping delivers them in AWS. S3 notifications reach the
  renderer this way (the documents bucket notifies a queue; see `provision`). A handler that
  raises leaves its message on the queue, so it is redelivered after the visibility timeout,
  up to `MAX_ATTEMPTS` (then dropped and logged, where AWS would dead-letter it).
- Schedules: each `@app.schedule('rate(N unit)')` runs every N units.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

from openevent.backend import is_backend_fault
from openevent.settings import get_settings

log = logging.getLogger("openevent.events")
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
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [], "detail": {}}


def sqs_event(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The event an SQS-triggered Lambda receives for one message."""
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"], "attributes": message.get("Attributes", {}),
        "messageAttributes": {}, "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}]}


class EventPump:
    def __init__(self, gateway: Any, stopping: threading.Event) -> None:
        self.gateway = gateway
        self.stopping = stopping
        self.region = get_settings().region
        self.sqs = boto3.client("sqs", region_name=self.region)
        self.queues: list[tuple[str, Any, str, str]] = []  # (group, config, url, arn)
        self.schedules: list[tuple[str, Any, int]] = []

    def setup(self) -> None:
        for group in self.gateway.pools:
            for source in self.gateway.apps(group).event_sources:
                kind = type(source).__name__
                if kind == "SQSEventConfig":
                    url = self.sqs.create_queue(QueueName=source.queue)["QueueUrl"]
                    arn = self.sqs.get_queue_attributes(
                        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                    self.queues.append((group, source, url, arn))
                elif kind == "ScheduledEventConfig":
                    seconds = rate_seconds(source.schedule_expression)
                    if seconds:
                        self.schedules.append((group, source, seconds))

    def recreate_queues(self) -> None:
        """After the embedded AWS restarted (queues are not journaled): the same queues, at
        the same URLs."""
        for _, source, _, _ in self.queues:
            self.sqs.create_queue(QueueName=source.queue)

    def run_queues(self) -> None:
        while not self.stopping.is_set():
            idle = True
            for group, source, url, arn in self.queues:
                try:
                    resp = self.sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=source.batch_size,
                        WaitTimeSeconds=0, AttributeNames=["ApproximateReceiveCount"])
                except Exception as exc:  # noqa: BLE001 - moto stopping or restarting
                    if self.stopping.is_set():
                        return
                    log.warning("receive from %s failed: %s", source.queue, exc)
                    continue
                for message in resp.get("Messages", []):
                    idle = False
                    self._handle(group, source, url, arn, message)
            if idle:
                self.stopping.wait(0.2)

    def _handle(self, group: str, source: Any, url: str, arn: str,
                message: dict[str, Any]) -> None:
        attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            handler = self.gateway.apps(group).handler_map[source.name]
            handler(sqs_event(message, arn, self.region), _Context())
        except Exception as exc:  # noqa: BLE001 - leave it queued: SQS redelivers it (a retry)
            if is_backend_fault(exc):  # an outage, already reported once: one line each
                log.warning("%s failed on a message of %s (attempt %s): %s", source.name,
                            source.queue, attempts, exc)
                return  # not counted against the message: SQS redelivers it later
            log.exception("%s failed on a message of %s (attempt %s)", source.name,
                          source.queue, attempts)
            if attempts < MAX_ATTEMPTS:
                return
            log.error("dropping a message of %s after %s attempts", source.queue, attempts)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

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
                except Exception as exc:  # noqa: BLE001 - a failing job must not stop others
                    if is_backend_fault(exc):  # an outage: one line, the next tick retries
                        log.warning("scheduled job %s failed: %s", src.name, exc)
                    else:
                        log.exception("scheduled job %s failed", src.name)
