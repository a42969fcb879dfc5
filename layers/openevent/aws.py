"""AWS clients for request paths: one per service per process, built on first use.

boto3 is imported lazily (it is not needed until a request touches S3, SES, ...), and a warm
Lambda reuses the client and its connection pool instead of building one per call site.
Clients are thread-safe; the local gateway runs requests on threads.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from openevent.settings import get_settings


@cache
def client(service: str) -> Any:
    """The process-wide boto3 client for `service` ("s3", "ses", "secretsmanager", ...)."""
    import boto3

    return boto3.client(service, region_name=get_settings().region)
