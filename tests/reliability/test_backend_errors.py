"""A failure of the back end is a 503 with Retry-After — never "409 Email already exists",
never a 500 — and a string that cannot be stored is a 422 naming the field (issue #27, 3).

The faults are injected at the wire: the embedded AWS answering 503 for DynamoDB calls
(as the durable store does when its journal cannot be written), and DynamoDB unreachable
(connection refused, as while the embedded AWS restarts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import EndpointConnectionError
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend

JSONAPI = "application/vnd.api+json"


class _Unavailable(JsonRESTError):
    code = 503

    def __init__(self) -> None:
        super().__init__("ServiceUnavailable", "journal unavailable: disk full")


@contextmanager
def dynamodb_answers_503(*calls: str) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise _Unavailable()

    with mock.patch.multiple(DynamoDBBackend, **{name: refuse for name in calls}):
        yield


@contextmanager
def dynamodb_unreachable() -> Iterator[None]:
    """Every DynamoDB request fails to connect (moto's in-process stub is where the HTTP
    request would leave; botocore retries, then gives up as it does on a refused port)."""
    from moto.core.botocore_stubber import BotocoreStubber

    real = BotocoreStubber.__call__

    def send(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if "dynamodb" in event_name:
            raise EndpointConnectionError(endpoint_url=request.url)
        return real(self, event_name, request, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", send):
        yield


def _signup(api: Any, email: str, **extra: Any) -> Any:
    return api.post("/v1/users", {"data": {"type": "user", "attributes": {
        "email": email, "password": "long-enough-password", **extra}}})


def _event(name: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=30)
    return {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": start.isoformat(), "timezone": "UTC",
        "ends-at": (start + timedelta(hours=2)).isoformat()}}}


def _assert_503(resp: Any) -> None:
    assert resp.status == 503, (resp.status, resp.body[:300])
    assert int(resp.headers["Retry-After"]) > 0
    error = resp.json()["errors"][0]
    assert error["status"] == 503 and "Email already exists" not in error["detail"]


def test_signup_when_dynamodb_answers_503_is_503_and_can_be_retried(api):
    with dynamodb_answers_503("transact_write_items"):
        _assert_503(_signup(api, "retry@example.com"))
    again = _signup(api, "retry@example.com")  # nothing was stored: the retry succeeds
    assert again.status == 201, again.body
    taken = _signup(api, "retry@example.com")  # a real conflict is still a 409
    assert taken.status == 409
    assert taken.json()["errors"][0]["source"]["pointer"] == "/data/attributes/email"


def test_reads_and_event_creation_when_dynamodb_answers_503(api, make_user):
    admin = make_user(admin=True)
    with dynamodb_answers_503("get_item", "query", "scan", "batch_get_item",
                              "transact_write_items", "put_item", "update_item"):
        _assert_503(api.get("/v1/events"))
        _assert_503(api.get(f"/v1/users/{admin.id}", token=admin.token))
        _assert_503(api.post("/v1/events", _event("Outage"), token=admin.token))


def test_dynamodb_unreachable_is_503(api, make_user):
    admin = make_user(admin=True)
    with dynamodb_unreachable():
        _assert_503(_signup(api, "unreachable@example.com"))
        _assert_503(api.get("/v1/events"))
        _assert_503(api.post("/v1/events", _event("Outage"), token=admin.token))
    assert _signup(api, "unreachable@example.com").status == 201


@pytest.mark.parametrize("path, doc, pointer", [
    ("/v1/users", {"data": {"type": "user", "attributes": {
        "email": "s@example.com", "password": "long-enough-password",
        "first-name": "Ann\ud800"}}}, "/data/attributes/first-name"),
    ("/v1/users", {"data": {"type": "user", "attributes": {
        "email": "\udfffs@example.com", "password": "long-enough-password"}}},
     "/data/attributes/email"),
    ("/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Party \ud83d"}}}, "/data/attributes/name"),
    ("/auth/session", {"email": "a\ud800@example.com", "password": "x"}, "/email"),
])
def test_a_lone_surrogate_is_422_naming_the_field(api, make_user, path, doc, pointer):
    admin = make_user(admin=True)
    body = json.dumps(doc).encode()  # ensure_ascii: the surrogate travels as \\udXXX
    ctype = "application/json" if path.startswith("/auth") else JSONAPI
    resp = api.request("POST", path, body=body, content_type=ctype, token=admin.token)
    assert resp.status == 422, resp.body
    error = resp.json()["errors"][0]
    assert error["source"]["pointer"] == pointer
    assert "surrogate" in error["detail"]
    if path == "/v1/users":  # nothing stored: the same email signs up fine afterwards
        doc["data"]["attributes"] = {"email": "s@example.com",
                                     "password": "long-enough-password"}
        assert api.post(path, doc).status == 201
