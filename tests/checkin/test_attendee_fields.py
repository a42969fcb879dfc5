"""The attendee's check-in fields keep each other consistent (issue #23 item 5): what the web
app's check-in toggle sends sets `is-checked-in`, and the event's figure follows."""

from __future__ import annotations

from tests.checkin.conftest import code_of, scan


def _patch(world, account, aid, **attrs):
    return world.api.patch(f"/v1/attendees/{aid}", {"data": {
        "type": "attendee", "id": str(aid), "attributes": attrs}}, token=account.token)


def _checked_in(world, door):
    return world.api.get(f"/v1/checkin/events/{door.event.id}/figures",
                         token=door.registrar.token).json()["checked-in"]


def test_the_web_apps_toggle_checks_in_and_out(world, people, door):
    aid = door.order["attendees"][0]
    # the app echoes the whole model: is-checked-in as loaded (false), times with one appended
    resp = _patch(world, people.owner, aid, **{"is-checked-in": False, "checkin-times":
                                              "2026-12-05T09:00:00.000Z",
                                              "checkout-times": None, "firstname": "Ada"})
    assert resp.status == 200, resp.body
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["is-checked-in"], attrs["is-checked-out"], attrs["device-name-checkin"]) == \
        (True, False, "-")
    assert _checked_in(world, door) == 1
    resp = _patch(world, people.owner, aid, **{"is-checked-in": True, "checkout-times":
                                              "2026-12-05T17:00:00.000Z"})
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["is-checked-in"], attrs["is-checked-out"]) == (False, True)
    assert _checked_in(world, door) == 0
    # the next day: checked in again, the history kept
    resp = _patch(world, people.coorganizer, aid, **{
        "checkin-times": "2026-12-05T09:00:00.000Z,2026-12-06T13:00:00.000Z"})
    attrs = resp.json()["data"]["attributes"]
    assert attrs["is-checked-in"] is True
    assert attrs["checkin-times"] == "2026-12-05T09:00:00.000Z,2026-12-06T13:00:00.000Z"
    assert attrs["device-name-checkin"] == "-,-"
    assert _checked_in(world, door) == 1
    # and the buyer's My Tickets reads it as checked in
    mine = world.api.get(f"/v1/orders/{door.order['identifier']}?include=attendees",
                         token=people.buyer.token).json()
    flags = {a["id"]: a["attributes"]["is-checked-in"] for a in mine["included"]}
    assert flags[aid] is True


def test_is_checked_in_alone_records_the_time_and_device(world, people, door):
    aid = door.order["attendees"][1]
    resp = _patch(world, people.owner, aid, **{"device-name-checkin": "Phone 1"})
    assert resp.status == 422  # Open Event: a device name needs its check-in time
    resp = _patch(world, people.owner, aid, **{"is-checked-in": True,
                                              "device-name-checkin": "Phone 1"})
    attrs = resp.json()["data"]["attributes"]
    assert attrs["is-checked-in"] is True and len(attrs["checkin-times"].split(",")) == 1
    assert attrs["device-name-checkin"] == "Phone 1"
    resp = _patch(world, people.owner, aid, **{"is-checked-in": False})
    attrs = resp.json()["data"]["attributes"]
    assert attrs["is-checked-in"] is False and attrs["checkout-times"]
    assert _checked_in(world, door) == 0


def test_scan_and_toggle_share_the_fields(world, people, door):
    aid = door.order["attendees"][0]
    scan(world, door.registrar, door.event, code_of(aid))
    resp = _patch(world, people.owner, aid, **{"checkout-times": "2026-12-05T18:00:00.000Z"})
    assert resp.json()["data"]["attributes"]["is-checked-in"] is False
    again = scan(world, door.registrar, door.event, code_of(aid)).json()
    assert again["result"] == "admitted"  # re-entry after a check-out
    assert _checked_in(world, door) == 1


def test_bad_times_are_422_naming_the_field(world, people, door):
    resp = _patch(world, people.owner, door.order["attendees"][0],
                  **{"checkin-times": "monday"})
    assert resp.status == 422 and b"checkin" in resp.body


def test_a_new_attendee_cannot_arrive_checked_in(world, people, shop):
    from tests.orders.conftest import attendee_doc

    resp = world.api.post("/v1/attendees", attendee_doc(
        shop.event, shop.free, firstname="Eve", lastname="X", email="eve@example.com",
        **{"is-checked-in": True}), token=people.buyer.token)
    assert resp.status == 422
    resp = world.api.post("/v1/attendees", attendee_doc(
        shop.event, shop.free, firstname="Eve", lastname="X", email="eve@example.com",
        **{"is-checked-in": False, "checkin-times": None}), token=people.buyer.token)
    assert resp.status == 201
    assert resp.json()["data"]["attributes"]["is-checked-in"] is False


def test_unpaid_orders_attendee_cannot_be_checked_in(world, people, shop):
    from tests.orders.conftest import attendee_doc, order_doc

    aid = world.api.post("/v1/attendees", attendee_doc(
        shop.event, shop.paid, firstname="P", lastname="Q", email="p@example.com"),
        token=people.buyer.token).json()["data"]["id"]
    world.api.post("/v1/orders", order_doc(shop.event, [aid], **{"payment-mode": "stripe"}),
                   token=people.buyer.token)
    resp = _patch(world, people.owner, aid, **{"is-checked-in": True})
    assert resp.status == 422


def test_checked_in_tabs_filter_on_the_flag(world, people, door):
    aid = door.order["attendees"][0]
    _patch(world, people.owner, aid, **{"is-checked-in": True})
    import json

    def tab(value):
        flt = json.dumps([{"name": "is-checked-in", "op": "eq", "val": value}])
        resp = world.api.get(f"/v1/events/{door.event.id}/attendees?filter={flt}",
                             token=people.owner.token)
        return sorted(a["id"] for a in resp.json()["data"])

    assert tab(True) == [aid]
    assert tab(False) == [door.order["attendees"][1]]
