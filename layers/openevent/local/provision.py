"""Create the AWS resources the system needs (tables, buckets, mail identity); idempotent.

In AWS, infra/ (CDK) declares these. Locally (moto) and in tests this creates them.
"""

from __future__ import annotations

import boto3

from openevent.models.registry import create_tables
from openevent.settings import get_settings


def provision() -> list[str]:
    settings = get_settings()
    created = create_tables()
    s3 = boto3.client("s3", region_name=settings.region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.documents_bucket, settings.media_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
            created.append(f"s3://{bucket}")
    ses = boto3.client("ses", region_name=settings.region)
    ses.verify_email_identity(EmailAddress=settings.mail_sender)
    _document_notifications(settings.documents_bucket, settings.documents_queue)
    return created


def _document_notifications(bucket: str, queue: str) -> None:
    """Manifests written to the documents bucket notify the renderer's queue (as infra/
    declares in AWS): `manifests/*.json` created → SQS → the orders group's renderer."""
    sqs = boto3.client("sqs", region_name=get_settings().region)
    url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url,
                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("s3", region_name=get_settings().region).put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "manifests/"},
                                               {"Name": "suffix", "Value": ".json"}]}}}]})
