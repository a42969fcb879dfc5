"""Bad input on every route of every group gives a 4xx in the contract's format, never a 5xx.

Routes are read from the loaded Chalice apps, so a new route is covered the day it is added.
The only 5xx allowed is the lab's contractual 503 "no device online".
"""

from __future__ import annotations

import json
import re

import pytest
from openevent.local.gateway import load_app
from openevent.routing import GROUPS

ROUTES = sorted(
    (group, path, method)
    for group in GROUPS
    for path, methods in load_app(group).routes.items()
    for method in methods
)

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("malformed", b'{"data": {', "application/vnd.api+json"),
    ("malformed-plain", b"{not json", "application/json"),
    ("data-list", b'{"data": []}', "application/vnd.api+json"),
    ("json-array", b"[]", "application/json"),
    ("json-null", b"null", "application/json"),
    ("json-number", b"12", "application/vnd.api+json"),
    ("wrong-content-type", b"hello", "text/plain"),
    ("huge", b'{"data": {"type": "x", "attributes": {"name": "' + b"a" * (1024 * 1024) + b'"}}}',
     "application/vnd.api+json"),
    ("unknown-fields", json.dumps({"data": {"type": "user", "id": "1", "attributes": {
        "no-such-field": 1, "name": 12345, "email": [], "starts-at": "garbage",
        "quantity": "lots", "price": {"x": 1}}}}).encode(), "application/vnd.api+json"),
    ("wrong-types-plain", json.dumps({"email": [], "password": 5, "tickets": "x",
                                      "function": 12, "data": "x", "wait": "soon",
                                      "discount-code": {"a": 1}}).encode(),
     "application/json"),
    ("deep-nesting", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("bad-utf8", b'{"data": "\xff\xfe"}', "application/vnd.api+json"),
]

PATH_VALUES = ["1", "abc", "99999999999999999999", "..%2F..", "%00"]


def concrete(path: str, value: str) -> str:
    return re.sub(r"{[^}]+}", value, path)


def assert_contract_error(resp, context):
    no_device = resp.status == 503 and "/lab/" in context  # the lab's contractual 503
    assert resp.status < 500 or no_device, f"{context} -> {resp.status} {resp.body[:300]!r}"
    if resp.status >= 400:
        body = json.loads(resp.body)
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"{context}: {body}"
        assert errors[0]["status"] == resp.status, f"{context}: {body}"
        assert errors[0]["title"], f"{context}: {body}"


@pytest.mark.slow
@pytest.mark.parametrize("group,path,method", ROUTES)
def test_route_never_answers_5xx_to_bad_input(api, make_user, group, path, method):
    admin = make_user(admin=True, super_admin=True)
    for value in PATH_VALUES:
        url = concrete(path, value)
        for header in (None, "JWT garbage", "Bearer", f"JWT {admin.token}x"):
            headers = {"Authorization": header} if header else {}
            resp = api.request(method, url, headers=headers)
            assert_contract_error(resp, f"{method} {url} auth={header!r}")
    url = concrete(path, "1")
    for name, body, content_type in BAD_BODIES:
        for token in (None, admin.token):
            resp = api.request(method, url, body=body, content_type=content_type, token=token)
            assert_contract_error(resp, f"{method} {url} {name} token={bool(token)}")
    resp = api.request(method, url + "?page[size]=-1&page[number]=x&sort=,,&filter={bad"
                       "&include=a.b.c.d.e&fields[x]=", token=admin.token)
    assert_contract_error(resp, f"{method} {url} bad query")


def test_unknown_path_is_404_in_contract_format(api):
    resp = api.get("/v2/nothing-here")
    assert resp.status == 404
    assert json.loads(resp.body)["errors"][0]["status"] == 404


def test_wrong_method_is_405_in_contract_format(api):
    resp = api.request("PUT", "/v1/modules")
    assert resp.status == 405
    assert json.loads(resp.body)["errors"][0]["title"] == "Method Not Allowed"


def test_cors_preflight_answers_with_allowed_headers(api):
    resp = api.request("OPTIONS", "/v1/users", headers={
        "Origin": "http://localhost:4200", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-csrf-token"})
    assert resp.status == 200
    allowed = resp.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "content-type", "x-csrf-token"):
        assert header in allowed
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
