"""Bad input on every route of the events app gives a 4xx in the contract's error format.

Routes are enumerated from the loaded Chalice app, so a new route is fuzzed automatically.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.events.conftest import doc

pytestmark = pytest.mark.slow

GARBAGE_TOKENS = ["JWT garbage", "Bearer a.b.c", "JWT " + "x" * 5000, "Basic Zm9vOmJhcg=="]
BAD_REFS = ["0", "99999999999999999999999", "x" * 300, "%00", "..%2F..", "%F0%9F%98%80"]
BAD_QUERIES = ["page[size]=abc&page[number]=0&sort=nonexistent", "filter=notjson",
               "filter={\"or\":3}&include=a.b.c.d.e&fields[event]=",
               "page[cursor]=eyJrIjp7ImlkIjp7Ik4iOiJ4In19fQ"]


def _app_routes() -> list[tuple[str, str]]:
    from openevent.local.gateway import load_app

    app = load_app("events")
    found = [(path, method) for path, methods in app.routes.items() for method in methods
             if method != "OPTIONS"]
    # Deletes last (the event's own delete very last) so other routes still find objects.
    return sorted(found, key=lambda pm: (pm[1] == "DELETE", pm[0] == "/v1/events/{ref}"))


ROUTES = _app_routes()


def _bodies(rtype: str) -> list[tuple[bytes, str]]:
    vnd = "application/vnd.api+json"
    huge = "x" * 60_000
    return [
        (b"{not json", vnd),
        (b"", vnd),
        (b"[]", vnd),
        (b"\xff\xfe\x00", vnd),
        (b"[" * 5000 + b"]" * 5000, vnd),
        (json.dumps({"data": {"type": rtype}}).encode(), vnd),
        (json.dumps({"data": {"type": "wrong-type", "attributes": {}}}).encode(), vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {"bogus-field": 1}}}).encode(), vnd),
        (json.dumps({"data": {"type": rtype, "id": {"x": 1}, "attributes": {}}}).encode(), vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {
            "name": 123, "starts-at": "yesterday", "ends-at": 5, "timezone": huge[:70],
            "code": ["x"], "value": "abc", "type": None, "quantity": "many", "price": -1,
            "rate": {"x": 1}, "link": "javascript:alert(1)", "stripe-auth-code": 12}}}).encode(),
         vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {"name": huge, "code": huge,
                                                             "description": huge}}}).encode(),
         vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {},
                              "relationships": {"event": {"data": {"type": "event",
                                                                   "id": "../../x"}}}}}).encode(),
         vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {},
                              "relationships": {"event": "oops", "tickets": {"data": 3}}}}
                    ).encode(), vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {},
                              "relationships": {"tickets": {"data": [{"type": "ticket",
                                                                      "id": "abc"}]},
                                                "event": {"data": {"type": "event",
                                                                   "id": 1.5}}}}}).encode(),
         vnd),
        (json.dumps({"data": {"type": rtype, "attributes": {"name": "ok"}}}).encode(),
         "text/plain"),
    ]


@pytest.fixture
def world(cast, make_ticket, make_code, api):
    """One object of every kind, so path ids resolve and bodies reach the parsers."""
    event = cast.event
    paid = make_ticket(event, name="Paid", type="paid", price=10)
    code = make_code(event, [paid])
    owner = cast.token("owner")
    ids = {"tickets": paid.id, "discount-codes": code.id}
    for plural, rtype, attrs in (
        ("taxes", "tax", {"name": "VAT", "rate": 19}),
        ("tracks", "track", {"name": "T"}),
        ("sponsors", "sponsor", {"name": "S"}),
        ("microlocations", "microlocation", {"name": "M"}),
        ("social-links", "social-link", {"name": "L", "link": "https://x.test"}),
        ("custom-forms", "custom-form", {"field-identifier": "f", "form": "attendee",
                                         "type": "text"}),
    ):
        resp = api.post(f"/v1/{plural}", doc(rtype, attrs, event=event.id), token=owner)
        ids[plural] = int(resp.json()["data"]["id"])
    ids["stripe-authorization"] = 1
    return cast, ids


def _fill(path: str, cast: Any, ids: dict[str, int], bad: str | None = None) -> str:
    parts = path.split("/")
    out = []
    for i, part in enumerate(parts):
        if part == "{ref}":
            out.append(bad or str(cast.event.id))
        elif part == "{item_id}":
            out.append(bad or str(ids.get(parts[i - 1], 1)))
        elif part == "{user_id}":
            out.append(bad or str(cast.accounts["owner"].id))
        elif part == "{code}":
            out.append(bad or "SAVE10")
        else:
            out.append(part)
    return "/".join(out)


def _rtype(path: str) -> str:
    from openevent.wire import events as schemas

    for schema in (schemas.TICKET, schemas.DISCOUNT_CODE, schemas.TAX, schemas.TRACK,
                   schemas.SPONSOR, schemas.MICROLOCATION, schemas.SOCIAL_LINK,
                   schemas.CUSTOM_FORM, schemas.STRIPE_AUTHORIZATION):
        if path.startswith(f"/v1/{schema.path}"):
            return schema.type
    return "event"


def _assert_clean(resp: Any, what: str) -> None:
    assert resp.status < 500, (what, resp.status, resp.body[:300])
    if resp.status >= 400:
        body = resp.json()
        assert isinstance(body["errors"][0]["status"], int), what
        assert body["errors"][0]["status"] == resp.status, what
        assert body["jsonapi"] == {"version": "1.0"}, what


def test_malformed_bodies_on_write_routes(api, world):
    cast, ids = world
    token = cast.token("admin")
    for path, method in ROUTES:
        if method not in ("POST", "PATCH") or path.endswith("/copy"):
            continue  # copy takes no body (covered by the path and token tests)
        url = _fill(path, cast, ids)
        for body, ctype in _bodies(_rtype(path)):
            resp = api.request(method, url, body=body, content_type=ctype, token=token)
            _assert_clean(resp, f"{method} {url} {body[:60]!r} {ctype}")


def test_garbage_tokens_on_every_route(api, world):
    cast, ids = world
    for path, method in ROUTES:
        url = _fill(path, cast, ids)
        for garbage in GARBAGE_TOKENS:
            resp = api.request(method, url, headers={"Authorization": garbage},
                               body=b"{}", content_type="application/vnd.api+json")
            assert resp.status == 401, (method, url, garbage[:20], resp.status)
            _assert_clean(resp, f"{method} {url}")


def test_bad_path_ids_on_every_route(api, world):
    cast, ids = world
    token = cast.token("admin")
    for path, method in ROUTES:
        if "{" not in path:
            continue
        for bad in BAD_REFS:
            url = _fill(path, cast, ids, bad)
            resp = api.request(method, url, token=token, body=b"{}",
                               content_type="application/vnd.api+json")
            _assert_clean(resp, f"{method} {url}")


def test_bad_query_parameters_on_read_routes(api, world):
    cast, ids = world
    for role in ("admin",):
        for path, method in ROUTES:
            if method != "GET":
                continue
            url = _fill(path, cast, ids)
            for query in BAD_QUERIES:
                resp = api.get(f"{url}?{query}", token=cast.token(role))
                _assert_clean(resp, f"GET {url}?{query} as {role}")


def test_every_route_is_fuzzed():
    assert len(ROUTES) >= 80
    assert ("/v1/events/{ref}/copy", "POST") in ROUTES


def test_no_route_scans_a_table(api, world, monkeypatch):
    """Every route reads by key or GSI only: no DynamoDB Scan on any request path."""
    from pynamodb.connection.base import Connection

    cast, ids = world
    operations: list[str] = []
    original = Connection._make_api_call

    def spy(conn: Any, name: str, kwargs: Any) -> Any:
        operations.append(name)
        return original(conn, name, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", spy)
    for path, method in ROUTES:
        if method == "GET":
            api.get(_fill(path, cast, ids), token=cast.token("admin"))
    assert len(operations) > 80  # the routes really read (settings/user come from the cache)
    assert "Scan" not in operations
