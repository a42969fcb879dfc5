"""Test harness: embedded AWS (moto) per test, every function group behind one gateway.

Tests drive the real handlers through the same route table and gateway the local runtime
serves (`openevent.local.gateway.Gateway`), in-process, against moto's DynamoDB/S3/SES.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Settings are read at import time by the models: set the test environment first.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "OPENEVENT_JWT_SECRET": "test-secret-for-jwt-signing-0123456789",
    "OPENEVENT_DATA_KEY": "dGVzdC1kYXRhLWtleS1mb3ItZmVybmV0LTAxMjM0NTY=",
    "OPENEVENT_TABLE_PREFIX": "test-",
    "OPENEVENT_FRONTEND_URL": "http://frontend.test",
})
os.environ.pop("AWS_ENDPOINT_URL", None)
_OUTBOX = tempfile.mkdtemp(prefix="openevent-outbox-")
os.environ["OPENEVENT_OUTBOX_DIR"] = _OUTBOX
# The ticket-signing key ring (openevent.signing.keys), a real one per test process.
_TICKET_KEYS = Path(tempfile.mkdtemp(prefix="openevent-keys-")) / "ticket-keys.json"
os.environ["OPENEVENT_TICKET_KEYS_FILE"] = str(_TICKET_KEYS)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from openevent.local.gateway import Gateway, GatewayResponse  # noqa: E402
from openevent.local.moto_patches import lock_moto_dynamodb  # noqa: E402
from openevent.local.moto_speed import speed_up_moto_dynamodb  # noqa: E402
from openevent.settings import get_settings  # noqa: E402
from openevent.signing.keys import ensure_file as _ensure_ticket_keys  # noqa: E402

_ensure_ticket_keys(_TICKET_KEYS)

JSONAPI = "application/vnd.api+json"

# Threads in tests hit moto like concurrent Lambdas hit DynamoDB: make moto atomic per call.
lock_moto_dynamodb()
speed_up_moto_dynamodb()  # as the embedded AWS runs


@pytest.fixture(scope="session")
def gateway() -> Gateway:
    return Gateway(pool_size=2)


@pytest.fixture
def outbox() -> Iterator[Path]:
    path = Path(_OUTBOX)
    for old in path.glob("*.eml"):
        old.unlink()
    yield path


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[None]:
    """One embedded AWS per test process; tables and buckets are created once."""
    get_settings.cache_clear()
    with mock_aws():
        from openevent.local.provision import provision

        provision()
        yield


@functools.lru_cache(maxsize=1)
def _clients() -> tuple[Any, Any, Any]:
    import boto3

    return (boto3.client("dynamodb", region_name="us-east-1"),
            boto3.client("s3", region_name="us-east-1"),
            boto3.client("sqs", region_name="us-east-1"))


@functools.cache
def _key_names(table: str) -> tuple[str, ...]:
    desc = _clients()[0].describe_table(TableName=table)["Table"]
    return tuple(k["AttributeName"] for k in desc["KeySchema"])


def _reset_state() -> None:
    """Empty every table and bucket (cheaper than re-creating ~30 tables per test)."""
    ddb, s3, _ = _clients()
    for table in ddb.list_tables()["TableNames"]:
        keys = _key_names(table)
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                batch = [{"DeleteRequest": {"Key": {k: item[k] for k in keys}}}
                         for item in items[start:start + 25]]
                ddb.batch_write_item(RequestItems={table: batch})
    for bucket in s3.list_buckets().get("Buckets", []):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket["Name"], Key=obj["Key"])


_EMPTY_TABLES: dict[str, Any] = {}


@pytest.fixture
def aws(_moto_session: None, outbox: Path) -> Iterator[None]:
    """Empty tables and buckets for each test. The first test empties them by scanning;
    later ones restore a copy of moto's empty DynamoDB tables, which is much cheaper."""
    import copy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from openevent import container_cache

    get_settings.cache_clear()
    container_cache.invalidate()  # the tables are emptied under the per-container cache
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    if "tables" not in _EMPTY_TABLES:
        _reset_state()
        _EMPTY_TABLES["tables"] = copy.deepcopy(backend.tables)
    else:
        backend.tables = copy.deepcopy(_EMPTY_TABLES["tables"])
        s3 = _clients()[1]
        for bucket in s3.list_buckets().get("Buckets", []):
            for obj in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
                s3.delete_object(Bucket=bucket["Name"], Key=obj["Key"])
    sqs = _clients()[2]
    for url in sqs.list_queues().get("QueueUrls", []):
        # Drained, not purged: SQS allows one purge a minute per queue.
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages"):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
    yield


@pytest.fixture(autouse=True)
def _iam_refusals(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every function runs with its deployed role's statements (`openevent.local.iam`); a call
    that role would refuse fails the test even where the code swallows the error."""
    from openevent.local import iam

    iam.clear_denials()
    yield
    if request.node.get_closest_marker("iam_refusals") is None:
        refused = iam.denials()
        assert not refused, f"calls the deployed IAM roles refuse: {refused}"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Tests make many accounts: argon2 with minimal cost (production's costs ~50 ms)."""
    from unittest import mock

    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with mock.patch("openevent.security._hasher", lambda: cheap):
        yield


@dataclass
class Api:
    gateway: Gateway

    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                content_type: str | None = None, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> GatewayResponse:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"JWT {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", content_type or JSONAPI)
        elif content_type:
            hdrs["Content-Type"] = content_type
        return self.gateway.request(method, path, hdrs, body)

    def get(self, path: str, **kw: Any) -> GatewayResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> GatewayResponse:
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> GatewayResponse:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, json_body: Any = None, **kw: Any) -> GatewayResponse:
        return self.request("DELETE", path, json_body=json_body, **kw)

    def post_json(self, path: str, body: Any, **kw: Any) -> GatewayResponse:
        return self.post(path, body, content_type="application/json", **kw)


@pytest.fixture
def api(aws: None, gateway: Gateway) -> Api:
    return Api(gateway)


@dataclass
class Account:
    id: int
    email: str
    password: str
    token: str


_counter = iter(range(1, 10**9))


@pytest.fixture
def make_user(aws: None) -> Any:
    """Factory: `make_user(admin=False, verified=True, super_admin=False) -> Account`."""
    from openevent.accounts import users as accounts

    def make(*, admin: bool = False, verified: bool = True, super_admin: bool = False,
             email: str | None = None, password: str = "correct-horse-1") -> Account:
        email = email or f"user{next(_counter)}@example.com"
        user = accounts.create_user(
            {"email": email, "password": password, "is_admin": admin or super_admin,
             "is_super_admin": super_admin, "is_verified": verified, "first_name": "Test",
             "last_name": "User"},
            send_verification=False,
        )
        token = accounts.tokens_for(user, with_refresh=False)["access_token"]
        return Account(user.id, email, password, token)

    return make


def mails_to(outbox: Path, address: str) -> list[Any]:
    """The mails in an outbox folder addressed to `address`, oldest first."""
    import email
    from email import policy

    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == address:
            found.append(msg)
    return found


def user_doc(email: str, password: str = "long-enough-pw", **attrs: Any) -> dict[str, Any]:
    return {"data": {"type": "user", "attributes": {"email": email, "password": password,
                                                    **attrs}}}


def error_of(resp: GatewayResponse) -> dict[str, Any]:
    body = resp.json()
    assert "errors" in body, body
    return body["errors"][0]  # type: ignore[no-any-return]
