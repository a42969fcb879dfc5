"""Event copy: what is copied, what is not, media copied to new keys, all-or-nothing."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import error_of
from tests.events.conftest import doc


@pytest.fixture
def media(aws):
    from openevent.settings import get_settings

    bucket = get_settings().media_bucket
    s3 = boto3.client("s3", region_name="us-east-1")

    def put(key: str, body: bytes = b"png-bytes") -> str:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return key

    def keys() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    put.keys = keys  # type: ignore[attr-defined]
    put.read = read  # type: ignore[attr-defined]
    put.bucket = bucket  # type: ignore[attr-defined]
    return put


@pytest.fixture
def full_event(api, cast, make_ticket, make_code, media):
    """An event with one of everything copy cares about."""
    from openevent.models.events import DiscountCode, Event, Ticket

    event = cast.event
    owner = cast.token("owner")
    media(f"events/{event.id}/logo.png", b"logo")
    media("uploads/sponsor.png", b"sponsor")
    logo = f"https://{media.bucket}.s3.amazonaws.com/events/{event.id}/logo.png"
    event.update(actions=[Event.logo_url.set(logo)])
    paid = make_ticket(event, name="Paid", type="paid", price=40)
    free = make_ticket(event, name="Free")
    paid.update(actions=[Ticket.seats_taken.set(3)])
    code = make_code(event, [paid])
    code.update(actions=[DiscountCode.used_count.set(2)])
    api.post("/v1/discount-codes", doc("discount-code", {"code": "ADMIN", "type": "percent",
                                                        "value": 5, "used-for": "event"},
                                       event=event.id), token=cast.token("admin"))
    api.post("/v1/taxes", doc("tax", {"name": "VAT", "rate": 19}, event=event.id), token=owner)
    api.post("/v1/tracks", doc("track", {"name": "Web"}, event=event.id), token=owner)
    sponsor = api.post("/v1/sponsors", doc("sponsor", {
        "name": "ACME",
        "logo-url": f"https://{media.bucket}.s3.us-east-1.amazonaws.com/uploads/sponsor.png"},
        event=event.id), token=owner)
    assert sponsor.status == 201, sponsor.body
    api.post("/v1/microlocations", doc("microlocation", {"name": "Hall"}, event=event.id),
             token=owner)
    api.post("/v1/social-links", doc("social-link", {"name": "X", "link": "https://x.test"},
                                     event=event.id), token=owner)
    cast.accounts["coorganizer"]  # noqa: B018 - materialize a role to copy
    return {"paid": paid, "free": free, "code": code}


def _copy(api, cast, role="owner", ref=None):
    return api.post_json(f"/v1/events/{ref or cast.event.identifier}/copy", {},
                         token=cast.token(role))


def test_copy_answers_new_id_and_identifier(api, cast, full_event):
    resp = _copy(api, cast)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["copied"] is True
    assert body["id"] != cast.event.id
    assert body["identifier"] != cast.event.identifier
    got = api.get(f"/v1/events/{body['identifier']}").json()["data"]
    assert got["id"] == str(body["id"])
    assert got["attributes"]["name"] == "PyCon"


def test_copy_copies_tickets_with_seats_reset(api, cast, full_event):
    new_id = _copy(api, cast).json()["id"]
    tickets = api.get(f"/v1/events/{new_id}/tickets/availability").json()
    assert [(t["name"], t["quantity"], t["available"]) for t in tickets] == [
        ("Paid", 100, 100), ("Free", 100, 100)]
    assert {t["id"] for t in tickets}.isdisjoint({full_event["paid"].id, full_event["free"].id})


def test_copy_copies_ticket_codes_remapped_with_usage_reset(api, cast, full_event):
    from openevent.events.discount_codes import codes_of_event
    from openevent.events.tickets import tickets_of_event

    new_id = _copy(api, cast).json()["id"]
    codes = codes_of_event(new_id)
    new_paid = [t for t in tickets_of_event(new_id) if t.name == "Paid"][0]
    assert [(c.code, c.used_count, list(c.ticket_ids), c.used_for) for c in codes] == [
        ("SAVE10", 0, [new_paid.id], "ticket")]
    resp = api.get(f"/v1/events/{new_id}/discount-codes/SAVE10")
    assert resp.status == 200


def test_copy_does_not_copy_event_code_or_stripe(api, cast, full_event):
    from openevent.events.stripe_connect import authorization_of
    from openevent.models.events import Event

    new_id = _copy(api, cast).json()["id"]
    assert Event.get(new_id).discount_code_id is None
    assert authorization_of(new_id) is None


def test_copy_copies_content_and_roles(api, cast, full_event):
    from openevent.models.events import EventRole

    new_id = _copy(api, cast).json()["id"]
    for plural, count in (("tracks", 1), ("sponsors", 1), ("microlocations", 1),
                          ("social-links", 1), ("custom-forms", 3)):
        assert api.get(f"/v1/events/{new_id}/{plural}").json()["meta"]["count"] == count
    assert api.get(f"/v1/events/{new_id}/tax").json()["data"]["attributes"]["rate"] == 19.0
    roles = sorted((r.user_id, r.role) for r in EventRole.query(new_id))
    assert roles == sorted((r.user_id, r.role) for r in EventRole.query(cast.event.id))


def test_copy_copies_media_to_new_keys(api, cast, full_event, media):
    from openevent.models.event_content import Sponsor

    new_id = _copy(api, cast).json()["id"]
    event = api.get(f"/v1/events/{new_id}").json()["data"]["attributes"]
    assert event["logo-url"] == (f"https://{media.bucket}.s3.amazonaws.com/events/{new_id}"
                                 "/logo.png")
    assert media.read(f"events/{new_id}/logo.png") == b"logo"
    sponsor = list(Sponsor.event_index.query(new_id))[0]
    prefix = f"https://{media.bucket}.s3.us-east-1.amazonaws.com/"
    assert sponsor.logo_url.startswith(f"{prefix}events/{new_id}/copied/")
    assert media.read(sponsor.logo_url[len(prefix):]) == b"sponsor"
    assert media.read("uploads/sponsor.png") == b"sponsor"  # the original stays


def test_copied_tickets_keep_names_unique_in_new_event(api, cast, full_event):
    new_id = _copy(api, cast).json()["id"]
    resp = api.post("/v1/tickets", doc("ticket", {"name": "Paid", "type": "free"}, event=new_id),
                    token=cast.token("owner"))
    assert resp.status == 409


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_copy_permissions(api, cast, role, status):
    resp = api.post_json(f"/v1/events/{cast.event.id}/copy", {}, token=cast.token(role))
    assert resp.status == status


def test_copy_of_hidden_draft_is_404(api, make_cast):
    cast = make_cast(state="draft")
    assert _copy(api, cast, role="user").status == 404


def test_failed_copy_leaves_nothing(api, cast, full_event, media, monkeypatch):
    from openevent.events import copying as event_copy
    from openevent.models.base import Unique
    from openevent.models.event_content import Sponsor, Track
    from openevent.models.events import DiscountCode, Event, EventRole, Ticket

    def counts():
        return {m.__name__: m.count() for m in (Event, Ticket, DiscountCode, Track, Sponsor,
                                                EventRole, Unique)}

    before, keys_before = counts(), media.keys()
    real, calls = event_copy.write_chunk, []

    def flaky(chunk):
        calls.append(len(chunk))
        if len(calls) == 3:
            raise RuntimeError("injected failure in the third chunk")
        real(chunk)

    monkeypatch.setattr(event_copy, "CHUNK", 4)
    monkeypatch.setattr(event_copy, "write_chunk", flaky)
    resp = _copy(api, cast)
    assert resp.status == 503
    assert error_of(resp)["detail"] == "The event could not be copied; nothing was changed"
    assert len(calls) == 3
    assert counts() == before
    assert media.keys() == keys_before


def test_failure_writing_event_item_leaves_nothing(api, cast, full_event, media, monkeypatch):
    from openevent.events import copying as event_copy
    from openevent.models.events import Event, Ticket

    before = (Event.count(), Ticket.count())
    real = event_copy.write_chunk

    def fail_on_event(chunk):
        if any(isinstance(w.item, Event) for w in chunk):
            raise RuntimeError("injected failure writing the event")
        real(chunk)

    monkeypatch.setattr(event_copy, "write_chunk", fail_on_event)
    assert _copy(api, cast).status == 503
    assert (Event.count(), Ticket.count()) == before


# --- issue 20, item 3: every derived flag is reset by a copy -------------------------------

def _buy(api, buyer, ticket_id, quantity):
    return api.post_json("/v1/orders/create-order",
                         {"tickets": [{"id": ticket_id, "quantity": quantity}]},
                         token=buyer.token)


@pytest.fixture
def every_state(api, cast, make_ticket, make_user):
    """An event with a ticket in each state a copy meets, reached through real checkouts."""
    from openevent.models.events import Ticket

    event, buyer = cast.event, make_user()
    made = {
        "on sale": make_ticket(event, name="On sale", quantity=4),
        "sold out": make_ticket(event, name="Sold out", quantity=2),
        "sharded sold out": make_ticket(event, name="Sharded sold out", quantity=4,
                                        seat_shards=2),
        "sharded on sale": make_ticket(event, name="Sharded on sale", quantity=4,
                                       seat_shards=2),
        "hidden": make_ticket(event, name="Hidden", quantity=3, is_hidden=True),
        "paid": make_ticket(event, name="Paid", type="paid", quantity=2),
    }
    for state, seats in (("on sale", 1), ("sold out", 2), ("sharded sold out", 4),
                         ("sharded on sale", 1), ("paid", 2)):
        resp = _buy(api, buyer, made[state].id, seats)
        assert resp.status == 201, (state, resp.body)
    # a buyer turned away from the sold-out sharded ticket marks all its shards empty
    assert _buy(api, buyer, made["sharded sold out"].id, 1).status == 409
    assert Ticket.get(made["sharded sold out"].id).shards_empty is True
    assert _buy(api, buyer, made["sold out"].id, 1).status == 409
    return made


def test_copy_resets_every_derived_ticket_flag(api, cast, every_state):
    from openevent.events import inventory
    from openevent.events.tickets import tickets_of_event
    from openevent.models.events import SeatShard, Ticket

    new_id = _copy(api, cast).json()["id"]
    copies = {t.name: t for t in tickets_of_event(new_id)}
    assert sorted(copies) == sorted(t.name for t in every_state.values())
    for name, ticket in copies.items():
        stored = Ticket.get(ticket.id)
        assert (int(stored.seats_taken or 0), stored.shards_empty) == (0, None), name
        if inventory.is_sharded(stored):
            shards = list(SeatShard.query(int(stored.id)))
            assert sum(int(s.left) for s in shards) == int(stored.quantity), name
            assert all(int(s.taken or 0) == 0 for s in shards), name
    assert copies["Hidden"].is_hidden is True  # configuration is copied, state is not
    assert copies["Sharded sold out"].seat_shards == 2


def test_every_ticket_of_a_copy_sells_its_whole_quantity(api, cast, every_state, make_user):
    from openevent.events.tickets import tickets_of_event

    new_id = _copy(api, cast).json()["id"]
    buyer = make_user()
    for ticket in tickets_of_event(new_id):
        if ticket.is_hidden:
            continue
        resp = _buy(api, buyer, ticket.id, int(ticket.quantity))
        assert resp.status == 201, (ticket.name, resp.body)
        assert _buy(api, buyer, ticket.id, 1).status == 409, ticket.name
    # the original's sales are untouched by the copy's
    stats = api.get(f"/v1/events/{cast.event.id}/order-statistics",
                    token=cast.token("owner")).json()["data"]["attributes"]
    assert stats["tickets"]["total"] == 10


def test_copy_statistics_start_from_zero(api, cast, every_state):
    from openevent.events.tickets import tickets_of_event

    new_id = _copy(api, cast).json()["id"]
    owner = cast.token("owner")
    stats = api.get(f"/v1/events/{new_id}/order-statistics", token=owner).json()
    assert stats["data"]["attributes"]["orders"]["total"] == 0
    for ticket in tickets_of_event(new_id):
        got = api.get(f"/v1/tickets/{ticket.id}/order-statistics", token=owner).json()
        assert got["data"]["attributes"]["tickets"]["total"] == 0, ticket.name


def test_every_attribute_of_a_copied_item_is_classified(aws):
    """A new attribute must be declared copied or derived (reset) before a copy ships it."""
    from openevent.events import copying as event_copy
    from openevent.models.events import DiscountCode, Event, Ticket

    for model in (Event, Ticket, DiscountCode):
        declared = event_copy.COPIED[model] | set(event_copy.DERIVED[model])
        assert declared == set(model.get_attributes()), model.__name__
        assert not event_copy.COPIED[model] & set(event_copy.DERIVED[model]), model.__name__
