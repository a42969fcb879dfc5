"""Tickets: every §4 rule, module gates, permissions, availability, hidden tickets."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.events.conftest import ROLES, doc


def ticket_doc(event_id, **attrs):
    base = {"name": "Standard", "type": "free", "quantity": 10}
    base.update(attrs)
    return doc("ticket", base, event=event_id)


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 201), ("organizer", 201),
                                         ("owner", 201), ("admin", 201)])
def test_create_ticket_permissions(api, cast, role, status):
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id), token=cast.token(role))
    assert resp.status == status, resp.body
    if status == 201:
        data = resp.json()["data"]
        assert resp.headers["Location"] == f"/v1/tickets/{data['id']}"
        assert data["attributes"]["price"] == 0.0
        assert data["relationships"]["event"]["data"] == {"type": "event",
                                                          "id": str(cast.event.id)}


def test_create_ticket_on_hidden_draft_is_404_for_user(api, make_cast):
    cast = make_cast(state="draft")
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id), token=cast.token("user"))
    assert resp.status == 404


def test_create_ticket_without_event_is_422(api, cast):
    resp = api.post("/v1/tickets", doc("ticket", {"name": "A", "type": "free"}),
                    token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/relationships/event"}


def test_duplicate_ticket_name_is_409(api, cast):
    owner = cast.token("owner")
    assert api.post("/v1/tickets", ticket_doc(cast.event.id), token=owner).status == 201
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, name="standard"), token=owner)
    assert resp.status == 409
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/name"}


def test_same_ticket_name_in_other_event_is_fine(api, make_cast, make_event):
    cast = make_cast()
    other = make_event(cast.accounts["owner"])
    owner = cast.token("owner")
    assert api.post("/v1/tickets", ticket_doc(cast.event.id), token=owner).status == 201
    assert api.post("/v1/tickets", ticket_doc(other.id), token=owner).status == 201


def test_concurrent_same_name_creates_only_one_wins(api, cast):
    from concurrent.futures import ThreadPoolExecutor

    owner = cast.token("owner")
    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(
            lambda _: api.post("/v1/tickets", ticket_doc(cast.event.id), token=owner).status,
            range(2)))
    assert statuses == [201, 409]


def test_ticket_name_reusable_after_delete(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    owner = cast.token("owner")
    assert api.delete(f"/v1/tickets/{ticket.id}", token=owner).status == 200
    assert api.post("/v1/tickets", ticket_doc(cast.event.id), token=owner).status == 201


def test_rename_to_taken_name_is_409(api, cast, make_ticket):
    make_ticket(cast.event, name="A")
    b = make_ticket(cast.event, name="B")
    resp = api.patch(f"/v1/tickets/{b.id}", doc("ticket", {"name": "A"}, rid=str(b.id)),
                     token=cast.token("owner"))
    assert resp.status == 409


def test_rename_frees_old_name(api, cast, make_ticket):
    a = make_ticket(cast.event, name="A")
    owner = cast.token("owner")
    api.patch(f"/v1/tickets/{a.id}", doc("ticket", {"name": "A2"}, rid=str(a.id)), token=owner)
    assert api.post("/v1/tickets", ticket_doc(cast.event.id, name="A"), token=owner).status == 201


@pytest.mark.parametrize("attrs,pointer", [
    ({"type": "paid"}, "/data/attributes/price"),
    ({"type": "paid", "price": 0}, "/data/attributes/price"),
    ({"type": "free", "price": 5}, "/data/attributes/price"),
    ({"type": "donation", "min-price": 10, "max-price": 5}, "/data/attributes/max-price"),
    ({"quantity": 0}, "/data/attributes/quantity"),
    ({"min-order": 5, "max-order": 2}, "/data/attributes/min-order"),
    ({"sales-starts-at": "2030-04-02T00:00:00Z", "sales-ends-at": "2030-04-01T00:00:00Z"},
     "/data/attributes/sales-starts-at"),
    ({"sales-ends-at": "2031-01-01T00:00:00Z"}, "/data/attributes/sales-ends-at"),
    ({"type": "vip"}, "/data/attributes/type"),
])
def test_invalid_ticket_is_422(api, cast, attrs, pointer):
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, **attrs), token=cast.token("owner"))
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"] == {"pointer": pointer}


def test_paid_ticket_with_price(api, cast):
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, type="paid", price="12.35"),
                    token=cast.token("owner"))
    assert resp.status == 201
    assert resp.json()["data"]["attributes"]["price"] == 12.35


def test_price_finer_than_the_currency_is_refused_not_rounded(api, cast):
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, type="paid", price="12.345"),
                    token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/price"}


def test_paid_ticket_needs_payment_method(api, make_user, make_event):
    owner = make_user()
    event = make_event(owner, can_pay_by_stripe=False)
    resp = api.post("/v1/tickets", ticket_doc(event.id, type="paid", price=5), token=owner.token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/type"}


def test_ticketing_module_off_forbids_tickets(api, cast, modules):
    modules(ticket=False)
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id), token=cast.token("owner"))
    assert resp.status == 403
    assert error_of(resp)["detail"] == "Ticketing is not enabled in the system"


def test_donation_module_off_forbids_donation_tickets(api, cast, modules):
    modules(donation=False)
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, type="donation"),
                    token=cast.token("owner"))
    assert resp.status == 403
    assert error_of(resp)["detail"] == "Donation is not enabled in the system"


def test_donation_ticket_with_range(api, cast):
    resp = api.post("/v1/tickets", ticket_doc(cast.event.id, type="donation",
                                              **{"min-price": 1, "max-price": 100}),
                    token=cast.token("owner"))
    assert resp.status == 201
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["min-price"], attrs["max-price"]) == (1.0, 100.0)


@pytest.mark.parametrize("role,status", [("anonymous", 200), ("user", 200),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_read_ticket_permissions(api, cast, make_ticket, role, status):
    ticket = make_ticket(cast.event)
    assert api.get(f"/v1/tickets/{ticket.id}", token=cast.token(role)).status == status


@pytest.mark.parametrize("role,status", [("anonymous", 404), ("user", 404),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_hidden_ticket_visibility(api, cast, make_ticket, role, status):
    ticket = make_ticket(cast.event, is_hidden=True)
    assert api.get(f"/v1/tickets/{ticket.id}", token=cast.token(role)).status == status
    listed = api.get(f"/v1/events/{cast.event.id}/tickets", token=cast.token(role)).json()
    assert listed["meta"]["count"] == (1 if status == 200 else 0)


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_patch_ticket_permissions(api, cast, make_ticket, role, status):
    ticket = make_ticket(cast.event)
    resp = api.patch(f"/v1/tickets/{ticket.id}",
                     doc("ticket", {"quantity": 50}, rid=str(ticket.id)), token=cast.token(role))
    assert resp.status == status
    if status == 200:
        assert resp.json()["data"]["attributes"]["quantity"] == 50


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_delete_ticket_permissions(api, cast, make_ticket, role, status):
    ticket = make_ticket(cast.event)
    assert api.delete(f"/v1/tickets/{ticket.id}", token=cast.token(role)).status == status


def test_deleted_ticket_is_404(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    api.delete(f"/v1/tickets/{ticket.id}", token=cast.token("owner"))
    assert api.get(f"/v1/tickets/{ticket.id}").status == 404


def _take_seats(ticket, n):
    from openevent.models.events import Ticket

    ticket.update(actions=[Ticket.seats_taken.set(n)])


def test_delete_ticket_with_seats_taken_is_409(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    _take_seats(ticket, 1)
    assert api.delete(f"/v1/tickets/{ticket.id}", token=cast.token("owner")).status == 409
    assert api.get(f"/v1/tickets/{ticket.id}").status == 200


def test_quantity_below_seats_taken_is_422(api, cast, make_ticket):
    ticket = make_ticket(cast.event, quantity=10)
    _take_seats(ticket, 6)
    resp = api.patch(f"/v1/tickets/{ticket.id}",
                     doc("ticket", {"quantity": 5}, rid=str(ticket.id)), token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/quantity"}


def test_quantity_down_to_seats_taken_is_fine(api, cast, make_ticket):
    ticket = make_ticket(cast.event, quantity=10)
    _take_seats(ticket, 6)
    resp = api.patch(f"/v1/tickets/{ticket.id}",
                     doc("ticket", {"quantity": 6}, rid=str(ticket.id)), token=cast.token("owner"))
    assert resp.status == 200


def test_patch_to_paid_without_price_is_422(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    resp = api.patch(f"/v1/tickets/{ticket.id}", doc("ticket", {"type": "paid"},
                                                     rid=str(ticket.id)),
                     token=cast.token("owner"))
    assert resp.status == 422


def test_availability(api, cast, make_ticket):
    a = make_ticket(cast.event, name="A", quantity=10)
    b = make_ticket(cast.event, name="B", quantity=3)
    make_ticket(cast.event, name="Secret", quantity=5, is_hidden=True)
    _take_seats(a, 4)
    _take_seats(b, 5)  # over-taken data never shows a negative availability
    resp = api.get(f"/v1/events/{cast.event.identifier}/tickets/availability")
    assert resp.status == 200
    assert resp.json() == [{"id": a.id, "name": "A", "quantity": 10, "available": 6},
                           {"id": b.id, "name": "B", "quantity": 3, "available": 0}]


def test_availability_shows_hidden_to_organizers(api, cast, make_ticket):
    make_ticket(cast.event, name="Secret", quantity=5, is_hidden=True)
    resp = api.get(f"/v1/events/{cast.event.id}/tickets/availability",
                   token=cast.token("coorganizer"))
    assert [t["name"] for t in resp.json()] == ["Secret"]


@pytest.mark.parametrize("role", ROLES)
def test_ticket_event_link_answers(api, cast, make_ticket, role):
    ticket = make_ticket(cast.event)
    resp = api.get(f"/v1/tickets/{ticket.id}/event", token=cast.token(role))
    assert resp.status == 200
    assert resp.json()["data"]["id"] == str(cast.event.id)


def test_tickets_of_draft_are_404_for_anonymous(api, make_cast):
    cast = make_cast(state="draft")
    assert api.get(f"/v1/events/{cast.event.id}/tickets").status == 404


def test_event_tickets_by_identifier(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    resp = api.get(f"/v1/events/{cast.event.identifier}/tickets")
    assert [t["id"] for t in resp.json()["data"]] == [str(ticket.id)]


def test_every_ticket_relationship_link_answers(api, cast, make_ticket):
    from openevent.routing import group_for

    ticket = make_ticket(cast.event)
    data = api.get(f"/v1/tickets/{ticket.id}").json()["data"]
    links = [rel["links"]["related"] for rel in data["relationships"].values()]
    assert links == [f"/v1/tickets/{ticket.id}/event", f"/v1/tickets/{ticket.id}/discount-codes",
                     f"/v1/tickets/{ticket.id}/attendees"]
    for link in links:
        if group_for(link) == "events":
            assert api.get(link, token=cast.token("owner")).status == 200, link
