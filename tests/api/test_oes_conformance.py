"""Every in-scope action of Open Event Server's API description answers as documented.

The table (`tests/api/oes_table.py`) holds the documented method, path, status and attribute
names of each action. The tests make real data through this API first — an organizer
who signed up and verified their address, a published event with four tickets, a discount
code, a tax, a role invite, event content, a buyer with a completed and an unpaid order, and
when an action needs it a Stripe account connected through the local Stripe sandbox (the
data is made once per process and restored for each test, see `world`) — then each test
sends its action to the real handlers and checks the status and that every documented
attribute name is in the answer (and that the names this platform withholds on purpose are
not).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.oes_table import ACTIONS, DOCUMENTED_ACTIONS, Action
from tests.conftest import mails_to, user_doc

STARTS = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
PASSWORD = "conformance-pw-1"


@dataclass
class World:
    api: Any
    tokens: dict[str, str | None] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    refresh: str = ""
    stripe: Any = None
    paypal: Any = None

    def call(self, method: str, path: str, body: Any = None, caller: str = "organizer",
             json_only: bool = False) -> Any:
        token = self.tokens.get(caller)
        if body is None:
            return self.api.request(method, path, token=token)
        if json_only:
            return self.api.request(method, path, json_body=body, token=token,
                                    content_type="application/json")
        return self.api.request(method, path, json_body=body, token=token)

    def ok(self, method: str, path: str, body: Any = None, caller: str = "organizer",
           json_only: bool = False) -> Any:
        resp = self.call(method, path, body, caller, json_only)
        assert resp.status in (200, 201), (method, path, resp.status, resp.body)
        return resp.json()

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


def _rel(rtype: str, rid: Any) -> dict[str, Any]:
    return {"data": {"type": rtype, "id": str(rid)}}


def _doc(rtype: str, attrs: dict[str, Any], rid: Any = None, **rels: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": rtype, "attributes": attrs}
    if rid is not None:
        data["id"] = str(rid)
    if rels:
        data["relationships"] = {k.replace("_", "-"): v for k, v in rels.items()}
    return {"data": data}


def _signup(world: World, outbox: Any, role: str, email: str) -> None:
    """A real account: signed up, verified by the mailed link, logged in."""
    api = world.api
    made = api.post("/v1/users", user_doc(email, PASSWORD, **{"first-name": role.title()}))
    assert made.status == 201, made.body
    mail = mails_to(outbox, email)[-1]
    token = re.search(r"token=([A-Za-z0-9_\-%]+)", mail.get_body(("plain",)).get_content())
    assert token is not None
    from urllib.parse import unquote

    verified = api.post_json("/v1/auth/verify-email", {"data": {"token": unquote(token[1])}})
    assert verified.status == 200, verified.body
    login = api.post_json("/v1/auth/login", {"email": email, "password": PASSWORD})
    assert login.status == 200, login.body
    world.tokens[role] = login.json()["access_token"]
    world.ids[role if role != "organizer" else "user"] = made.json()["data"]["id"]
    world.emails[role] = email
    if role == "organizer":
        world.refresh = login.json()["refresh_token"]


def _completed_free_order(world: World) -> tuple[str, list[str]]:
    made = world.ok("POST", "/v1/orders/create-order",
                    {"tickets": [{"id": int(world.ids["free_ticket"]), "quantity": 2}]},
                    "buyer", json_only=True)["data"]
    attendees = [a["id"] for a in made["relationships"]["attendees"]["data"]]
    for i, attendee in enumerate(attendees):
        world.ok("PATCH", f"/v1/attendees/{attendee}", _doc("attendee", {
            "firstname": "Ada" if i == 0 else "Grace", "lastname": "Lovelace",
            "email": f"holder{i}@example.com"}, attendee), "buyer")
    ident = made["attributes"]["identifier"]
    done = world.ok("PATCH", f"/v1/orders/{ident}",
                    _doc("order", {"status": "completed"}, made["id"]), "buyer")
    assert done["data"]["attributes"]["status"] == "completed", done
    return ident, attendees


def build_world(api: Any, make_user: Any, outbox: Any) -> World:
    world = World(api)
    admin = make_user(admin=True)  # the first admin exists before any API call can make one
    world.tokens.update(admin=admin.token, anonymous=None)
    world.ok("PATCH", "/v1/modules", _doc("module", {
        "ticket-include": True, "payment-include": True, "donation-include": True}, 1),
        "admin")
    _signup(world, outbox, "organizer", "organizer@example.com")
    _signup(world, outbox, "buyer", "buyer@example.com")

    event = world.ok("POST", "/v1/events", _doc("event", {
        "name": "Conformance Conf", "starts-at": STARTS.isoformat(),
        "ends-at": (STARTS + timedelta(days=2)).isoformat(), "timezone": "UTC",
        "payment-currency": "USD", "can-pay-onsite": True, "onsite-details": "At the door",
        "can-pay-by-stripe": True, "can-pay-by-paypal": True,
        "paypal-email": "organizer@example.com"}))["data"]
    world.ids.update(event=event["id"], identifier=event["attributes"]["identifier"])
    ev = _rel("event", event["id"])
    for key, attrs in (
        ("free_ticket", {"name": "Free", "type": "free", "quantity": 50}),
        ("ticket", {"name": "Standard", "type": "paid", "price": 10, "quantity": 50}),
        ("premium_ticket", {"name": "Premium", "type": "paid", "price": 25, "quantity": 20}),
        ("spare_ticket", {"name": "Supporter", "type": "donation", "min-price": 1,
                          "max-price": 100, "quantity": 20}),
    ):
        world.ids[key] = world.ok("POST", "/v1/tickets", _doc("ticket", attrs, event=ev)
                                  )["data"]["id"]
    world.ok("PATCH", f"/v1/events/{event['id']}",
             _doc("event", {"state": "published"}, event["id"]))
    code = world.ok("POST", "/v1/discount-codes", _doc("discount-code", {
        "code": "SAVE5", "value": 5, "type": "amount", "used-for": "ticket",
        "tickets-number": 10, "is-active": True}, event=ev,
        tickets={"data": [{"type": "ticket", "id": world.ids["ticket"]}]},
        marketer=_rel("user", world.ids["user"])))["data"]
    world.ids.update(code=code["id"], code_text="SAVE5")
    world.ids["tax"] = world.ok("POST", "/v1/taxes", _doc(
        "tax", {"name": "VAT", "rate": 10}, event=ev))["data"]["id"]
    world.ids["invite"] = world.ok("POST", "/v1/role-invites", _doc(
        "role-invite", {"email": "helper@example.com", "role-name": "coorganizer"},
        event=ev))["data"]["id"]
    for key, plural, attrs in (
        ("track", "tracks", {"name": "Main", "color": "#112233"}),
        ("sponsor", "sponsors", {"name": "ACME"}),
        ("microlocation", "microlocations", {"name": "Hall A"}),
        ("social_link", "social-links", {"name": "Site", "link": "https://example.com"}),
        ("custom_form", "custom-forms", {"field-identifier": "city", "form": "attendee",
                                         "type": "text"}),
    ):
        world.ids[key] = world.ok("POST", f"/v1/{plural}", _doc(
            plural.rstrip("s"), attrs, event=ev))["data"]["id"]

    world.ids["order"], attendees = _completed_free_order(world)
    world.ids["attendee"] = attendees[0]
    paid = world.ok("POST", "/v1/orders/create-order",
                    {"tickets": [{"id": int(world.ids["ticket"]), "quantity": 1}]},
                    "buyer", json_only=True)["data"]
    world.ids.update(paid_order=paid["attributes"]["identifier"], paid_order_id=paid["id"])
    paid_attendee = paid["relationships"]["attendees"]["data"][0]["id"]
    world.ok("PATCH", f"/v1/attendees/{paid_attendee}", _doc("attendee", {
        "firstname": "Ada", "lastname": "Byron", "email": "ada@example.com"}, paid_attendee),
        "buyer")
    # a seat held without an order (the classic flow's first step)
    world.ids["held_attendee"] = world.ok("POST", "/v1/attendees", _doc("attendee", {
        "firstname": "Held", "lastname": "Seat", "email": "held@example.com"}, event=ev,
        ticket=_rel("ticket", world.ids["free_ticket"])), "buyer")["data"]["id"]
    world.tokens["refresh"] = None
    return world


# The world is made through the API once per test process and restored for each test from a
# copy of the tables and objects it left (as tests/conftest.py restores empty tables): about
# 60 requests per test saved. It is made again when older than this, so no hold or unpaid
# order of it nears its expiry (15 minutes) and no token its lifetime.
SNAPSHOT_SECONDS = 120
_SNAPSHOT: dict[str, Any] = {}


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from openevent.settings import get_settings

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][get_settings().region]


def _objects() -> list[tuple[str, str, bytes]]:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    out = []
    for bucket in s3.list_buckets().get("Buckets", []):
        for obj in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            body = s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()
            out.append((bucket["Name"], obj["Key"], body))
    return out


@pytest.fixture
def world(api: Any, make_user: Any, outbox: Any) -> World:
    from openevent import container_cache

    made = _SNAPSHOT.get("made")
    if made is None or time.monotonic() - made > SNAPSHOT_SECONDS:
        built = build_world(api, make_user, outbox)
        _SNAPSHOT.update(made=time.monotonic(), tables=copy.deepcopy(_backend().tables),
                         objects=_objects(), tokens=dict(built.tokens), ids=dict(built.ids),
                         emails=dict(built.emails), refresh=built.refresh)
        return built
    import boto3

    _backend().tables = copy.deepcopy(_SNAPSHOT["tables"])
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket, key, body in _SNAPSHOT["objects"]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    container_cache.invalidate()  # the tables changed under the per-container cache
    return World(api, tokens=dict(_SNAPSHOT["tokens"]), ids=dict(_SNAPSHOT["ids"]),
                 emails=dict(_SNAPSHOT["emails"]), refresh=_SNAPSHOT["refresh"])


# --- request bodies ------------------------------------------------------------------------

def _bodies(world: World) -> dict[str, Any]:
    ev = _rel("event", world.ids["event"])
    return {
        "login": {"email": "organizer@example.com", "password": PASSWORD},
        "login_remember": {"email": "organizer@example.com", "password": PASSWORD,
                           "remember-me": True},
        "login_remember_in_response": {"email": "organizer@example.com",
                                       "password": PASSWORD, "remember-me": True,
                                       "include-in-response": True},
        "password": {"password": PASSWORD},
        "refresh_in_body": {"refresh_token": world.refresh},
        "new_user": user_doc("newcomer@example.com", PASSWORD),
        "user_patch": _doc("user", {"first-name": "Orga", "details": "Runs the event"},
                           world.ids["user"]),
        "check_email": {"email": "organizer@example.com"},
        "new_event": _doc("event", {
            "name": "Second Conf", "starts-at": STARTS.isoformat(),
            "ends-at": (STARTS + timedelta(days=1)).isoformat(), "timezone": "UTC"}),
        "event_patch": _doc("event", {"description": "Updated", "is-map-shown": True},
                            world.ids["event"]),
        "empty_object": {},
        "new_ticket": _doc("ticket", {"name": "Late", "type": "paid", "price": 15,
                                      "quantity": 5, "is-description-visible": True},
                           event=ev),
        "ticket_patch": _doc("ticket", {"description": "The usual seat", "position": 2},
                             world.ids["ticket"]),
        "new_event_code": _doc("discount-code", {
            "code": "EVENT10", "value": 10, "type": "percent", "used-for": "event",
            "is-active": True, "tickets-number": 100, "min-quantity": 0,
            "max-quantity": 100, "valid-from": STARTS.isoformat(),
            "valid-till": (STARTS + timedelta(days=1)).isoformat(),
            "discount-url": "https://example.com/d"},
            events={"data": [{"type": "event", "id": world.ids["event"]}]}),
        "new_ticket_code": _doc("discount-code", {
            "code": "TEN", "value": 10, "type": "percent", "used-for": "ticket",
            "is-active": False, "tickets-number": 40, "min-quantity": 0, "max-quantity": 10},
            event=ev, tickets={"data": [{"type": "ticket", "id": world.ids["ticket"]}]}),
        "code_patch": _doc("discount-code", {"value": 4}, world.ids["code"]),
        "receipt": {"order-identifier": world.ids["order"]},
        "attendee_patch": _doc("attendee", {"attendee-notes": "Needs a wheelchair seat"},
                               world.ids["attendee"]),
        "create_order": {"tickets": [{"id": int(world.ids["ticket"]), "quantity": 1}],
                         "discount_code": "SAVE5"},
        "order_patch": _doc("order", {"order-notes": "Invoice please", "status": "pending"},
                            world.ids["paid_order_id"]),
        "onsite_order": _doc("order", {
            "payment-mode": "onsite", "status": "completed", "country": "DE",
            "order-notes": "Sold at the door",
            "on-site-tickets": [
                {"data": {"type": "on-site-ticket",
                          "attributes": {"id": world.ids["ticket"], "quantity": "2"}}},
                {"data": {"type": "on-site-ticket",
                          "attributes": {"id": world.ids["free_ticket"], "quantity": "1"}}}]},
            event=ev),
        "charge": {"data": {"type": "charge", "attributes": {
            "stripe": "tok_visa", "paypal_payer_id": None, "paypal_payment_id": None}}},
        "paypal_payment": {"data": {"type": "paypal-payment", "attributes": {
            "return-url": "http://frontend.test/return",  # the configured web app origin
            "cancel-url": "http://frontend.test/cancel"}}},
        "calculate": {"tickets": [{"id": int(world.ids["ticket"]), "quantity": 2},
                                  {"id": int(world.ids["free_ticket"]), "quantity": 1}],
                      "discount_code": "SAVE5"},
        "settings_patch": _doc("setting", {"app-name": "Conformance", "smtp-port": 587,
                                           "smtp-host": "smtp.example.com"}, 1),
        "stripe_connect": _doc("stripe-authorization", {
            "stripe-auth-code": world.stripe.create_connect_code() if world.stripe else ""},
            event=ev),
        "stripe_reconnect": _doc("stripe-authorization", {
            "stripe-auth-code": world.stripe.create_connect_code() if world.stripe else ""},
            world.ids.get("stripe")),
    }


# --- payment sandboxes, only for the actions that need them ---------------------------------

@pytest.fixture
def sandboxes(request: Any, monkeypatch: Any) -> Iterator[dict[str, Any]]:
    from openevent.settings import get_settings

    needs = set(request.param)
    found: dict[str, Any] = {}
    stack = []
    if needs & {"stripe", "stripe_unconnected"}:
        from openevent.sandboxes.stripe import StripeFake

        fake = StripeFake()
        stack.append(fake)
        found["stripe"] = fake.__enter__()
        monkeypatch.setenv("STRIPE_API_BASE", fake.base_url)
        monkeypatch.setenv("STRIPE_CONNECT_BASE", fake.base_url)
    if "paypal" in needs:
        from openevent.sandboxes.paypal import PayPalFake

        pp = PayPalFake()
        stack.append(pp)
        found["paypal"] = pp.__enter__()
        monkeypatch.setenv("PAYPAL_API_BASE", pp.base_url)
    get_settings.cache_clear()
    try:
        yield found
    finally:
        for item in reversed(stack):
            item.__exit__(None, None, None)
        get_settings.cache_clear()


def _connect_payments(world: World, action: Action, found: dict[str, Any]) -> None:
    settings: dict[str, Any] = {}
    if "stripe" in found:
        fake = found["stripe"]
        world.stripe = fake
        settings.update({"stripe-secret-key": fake.secret_key,
                         "stripe-publishable-key": fake.publishable_key,
                         "stripe-webhook-secret": fake.webhook_secret,
                         "is-stripe-activated": True})
    if "paypal" in found:
        fake = found["paypal"]
        world.paypal = fake
        settings.update({"paypal-client": fake.client_id, "paypal-secret": fake.client_secret,
                         "paypal-webhook-id": fake.webhook_id, "is-paypal-activated": True,
                         "paypal-mode": "sandbox"})
    if settings:
        world.ok("PATCH", "/v1/settings", _doc("setting", settings, 1), "admin")
    if "stripe" in action.needs:
        auth = world.ok("POST", "/v1/stripe-authorizations", _doc("stripe-authorization", {
            "stripe-auth-code": world.stripe.create_connect_code()},
            event=_rel("event", world.ids["event"])))["data"]
        world.ids["stripe"] = auth["id"]
        world.stripe.account = next(iter(world.stripe.accounts))
    if action.title == "charge":
        world.ok("PATCH", f"/v1/orders/{world.ids['paid_order']}", _doc(
            "order", {"status": "pending", "payment-mode": "stripe"},
            world.ids["paid_order_id"]), "buyer")
    if "paypal" in action.needs:
        world.ok("PATCH", f"/v1/orders/{world.ids['paid_order']}", _doc(
            "order", {"status": "pending", "payment-mode": "paypal"},
            world.ids["paid_order_id"]), "buyer")
    if "event_code" in action.needs:
        world.ok("POST", "/v1/discount-codes", _bodies(world)["new_event_code"], "admin")


def _access_code(world: World) -> None:
    """An access code as organizers make one: it unlocks a hidden ticket, with the
    organizer as its marketer."""
    ev = _rel("event", world.ids["event"])
    hidden = world.ok("POST", "/v1/tickets", _doc("ticket", {
        "name": "Backstage", "type": "free", "quantity": 5, "is-hidden": True},
        event=ev))["data"]["id"]
    world.ids["access_code"] = world.ok("POST", "/v1/access-codes", _doc("access-code", {
        "code": "BACKSTAGE", "tickets-number": 5, "is-active": True}, event=ev,
        tickets={"data": [{"type": "ticket", "id": hidden}]},
        marketer=_rel("user", world.ids["user"])))["data"]["id"]


# --- the check -------------------------------------------------------------------------------

def _attributes_of(action: Action, body: Any) -> dict[str, Any]:
    if action.shape == "plain":
        assert isinstance(body, dict), body
        return body
    data = body["data"]
    if action.shape == "list":
        assert isinstance(data, list) and data, f"{action.id()}: the list is empty: {body}"
        data = data[0]
    assert data["type"] == action.rtype, data
    return data["attributes"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "action,sandboxes", [pytest.param(a, a.needs, id=a.id()) for a in ACTIONS],
    indirect=["sandboxes"])
def test_documented_action(api: Any, world: World, action: Action,
                           sandboxes: dict[str, Any]) -> None:
    _connect_payments(world, action, sandboxes)
    if "access_code" in action.needs:
        _access_code(world)
    body = _bodies(world).get(action.body) if action.body else None
    path = world.fill(action.path)
    if action.query:
        path += "?" + world.fill(action.query)
    caller = action.caller
    if caller == "refresh":
        resp = api.request(action.method, path, headers={
            "Authorization": f"JWT {world.refresh}"})
    else:
        resp = world.call(action.method, path, body, caller,
                          json_only=action.shape == "plain" and body is not None
                          and "data" not in body)
    assert resp.status == action.expected_status, (action.id(), resp.status, resp.body)
    if action.shape == "absent":
        return
    answer = resp.json()
    if action.shape == "never":  # the resource is known here, it just has no such item
        (error,) = answer["errors"]
        assert error["detail"].endswith("not found") and "No route" not in error["detail"], \
            (action.id(), answer)
        return
    if action.shape == "meta":
        assert answer["meta"]["message"] == "Object successfully deleted", answer
        return
    served = _attributes_of(action, answer)
    missing = [name for name in action.attrs
               if name not in served and name not in action.withheld]
    assert not missing, f"{action.id()}: documented names missing: {missing}"
    leaked = [name for name in action.withheld if name in served]
    assert not leaked, f"{action.id()}: withheld names served: {leaked}"


def test_table_covers_the_described_files() -> None:
    """Every file the issue names has actions in the table, none twice."""
    sources = {a.source for a in ACTIONS}
    assert sources == {"authentication", "users", "events", "event_copy", "tickets",
                       "discount_codes", "attendees", "orders", "settings",
                       "stripe_authorization"}
    ids = [a.id() for a in ACTIONS]
    assert len(ids) == len(set(ids))
    assert len(ACTIONS) == DOCUMENTED_ACTIONS
    for action in ACTIONS:
        if action.kept_status is not None or action.withheld:
            assert action.kept, action.id()
