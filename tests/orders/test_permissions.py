"""The permission table of API.md §6, cell by cell: anonymous, stranger, buyer, coorganizer,
owner, admin × list, view, create, update, delete."""

import pytest

from tests.orders.conftest import patch_doc

ROLES = ("anonymous", "stranger", "buyer", "coorganizer", "owner", "admin")


def _token(people, role):
    return None if role == "anonymous" else getattr(people, role).token


@pytest.fixture
def placed(world, people, shop):
    """A pending 10.00 onsite order of the buyer."""
    aid = world.attendee(people.buyer, shop.event, shop.paid).json()["data"]["id"]
    resp = world.classic_order(people.buyer, shop.event, [aid], **{"payment-mode": "onsite"})
    assert resp.status == 201
    return resp.json()["data"]


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 403), ("coorganizer", 200), ("owner", 200),
                                         ("admin", 200)])
def test_list_event_orders(world, people, shop, placed, role, status):
    resp = world.api.get(f"/v1/events/{shop.event.id}/orders", token=_token(people, role))
    assert resp.status == status
    if status == 200:
        assert [o["id"] for o in resp.json()["data"]] == [placed["id"]]


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 403), ("coorganizer", 403), ("owner", 403),
                                         ("admin", 200)])
def test_list_all_orders(world, people, placed, role, status):
    resp = world.api.get("/v1/orders", token=_token(people, role))
    assert resp.status == status
    if status == 200:
        body = resp.json()
        assert [o["id"] for o in body["data"]] == [placed["id"]]
        assert "count" not in body["meta"]  # platform-wide: no counter (docs/scale.md)


def test_platform_order_list_pages_without_a_count(world, people, shop):
    for buyer in (people.buyer, people.stranger, people.coorganizer):
        assert world.checkout(buyer, [(shop.free, 1)]).status == 201
    first = world.api.get("/v1/orders?page[size]=2", token=people.admin.token).json()
    assert len(first["data"]) == 2 and "count" not in first["meta"]
    assert first["links"]["next"] and "last" not in first["links"]
    second = world.api.get("/v1/orders?page[size]=2&page[number]=2",
                           token=people.admin.token).json()
    assert len(second["data"]) == 1 and second["links"]["next"] is None
    seen = {o["id"] for o in first["data"]} | {o["id"] for o in second["data"]}
    assert len(seen) == 3


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 200), ("coorganizer", 403), ("owner", 403),
                                         ("admin", 200)])
def test_list_user_orders(world, people, placed, role, status):
    resp = world.api.get(f"/v1/users/{people.buyer.id}/orders", token=_token(people, role))
    assert resp.status == status
    if status == 200:
        assert [o["id"] for o in resp.json()["data"]] == [placed["id"]]


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 200), ("coorganizer", 200), ("owner", 200),
                                         ("admin", 200)])
@pytest.mark.parametrize("by", ["identifier", "id"])
def test_view_order(world, people, placed, role, status, by):
    ref = placed["attributes"]["identifier"] if by == "identifier" else placed["id"]
    resp = world.api.get(f"/v1/orders/{ref}", token=_token(people, role))
    assert resp.status == status
    if status == 200:
        assert resp.json()["data"]["attributes"]["identifier"] == \
            placed["attributes"]["identifier"]


@pytest.mark.parametrize("role,status,order_status", [
    ("anonymous", 401, None), ("stranger", 201, "pending"), ("buyer", 201, "pending"),
    ("coorganizer", 201, "completed"), ("owner", 201, "completed"),
    ("admin", 201, "completed")])
def test_create_order(world, people, shop, role, status, order_status):
    token = _token(people, role)
    account = getattr(people, role) if token else people.buyer
    aid = world.attendee(account, shop.event, shop.paid).json()["data"]["id"]
    resp = world.api.post("/v1/orders", {"data": {"type": "order", "attributes": {
        "status": "completed", "amount": 7, "payment-mode": "onsite"}, "relationships": {
        "event": {"data": {"type": "event", "id": str(shop.event.id)}},
        "attendees": {"data": [{"type": "attendee", "id": aid}]}}}}, token=token)
    assert resp.status == status
    if status == 201:
        attrs = resp.json()["data"]["attributes"]
        organizer = order_status == "completed"
        assert attrs["status"] == order_status
        assert attrs["amount"] == (7.0 if organizer else 10.0)


# The buyer may place their own pending order paid on site, as the web app's payment page
# does (docs/frontend-compat.md); other statuses stay the organizer's (test_webapp_checkout).
@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 200), ("coorganizer", 200), ("owner", 200),
                                         ("admin", 200)])
def test_update_order_status(world, people, placed, role, status):
    resp = world.api.patch(f"/v1/orders/{placed['attributes']['identifier']}",
                           patch_doc(placed, status="placed"), token=_token(people, role))
    assert resp.status == status
    if status == 200:
        assert resp.json()["data"]["attributes"]["status"] == "placed"


def test_organizer_update_keeps_other_fields(world, people, placed):
    resp = world.api.patch(f"/v1/orders/{placed['id']}",
                           patch_doc(placed, status="placed", amount=1, city="Paris",
                                     **{"order-notes": "x"}), token=people.owner.token)
    assert resp.status == 200
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["status"], attrs["amount"], attrs["city"], attrs["order-notes"]) == \
        ("placed", 10.0, None, None)


def test_admin_update_sets_every_field(world, people, placed):
    resp = world.api.patch(f"/v1/orders/{placed['id']}",
                           patch_doc(placed, amount=1, city="Paris"), token=people.admin.token)
    assert resp.status == 200
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["amount"], attrs["city"]) == (1.0, "Paris")


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 403), ("coorganizer", 200), ("owner", 200),
                                         ("admin", 200)])
def test_delete_order(world, people, shop, placed, role, status):
    resp = world.api.delete(f"/v1/orders/{placed['id']}?cancel-note=Sorry",
                            token=_token(people, role))
    assert resp.status == status
    order = world.order(placed["id"])
    assert order.status == ("cancelled" if status == 200 else "pending")
    assert world.ticket_state(shop.paid).seats_taken == (0 if status == 200 else 1)
