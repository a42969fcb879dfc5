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
    return created
