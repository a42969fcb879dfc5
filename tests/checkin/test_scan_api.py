"""The scan endpoint: admits once, answers retries the same, refuses what must not pass, and
lets only registrars and organizers scan (openevent.checkin.scans)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from openevent.signing import keys

from tests.checkin.conftest import code_of, complete_order, scan


def test_admitted_then_already_in_with_time_and_device(world, people, door):
    code = code_of(door.order["attendees"][0])
    first = scan(world, door.registrar, door.event, code)
    assert first.status == 200, first.body
    answer = first.json()
    assert answer["result"] == "admitted"
    assert answer["attendee"] == {"id": door.order["attendees"][0], "name": "Ada Tester",
                                  "ticket": "Free"}
    again = scan(world, door.registrar, door.event, code, device="Door B").json()
    assert again["result"] == "already-in"
    assert (again["checked-in-at"], again["device"]) == (answer["checked-in-at"], "Door A")
    attendee = world.api.get(f"/v1/attendees/{door.order['attendees'][0]}",
                             token=people.owner.token).json()["data"]["attributes"]
    assert attendee["is-checked-in"] is True
    assert attendee["checkin-times"] == answer["checked-in-at"]
    assert attendee["device-name-checkin"] == "Door A"


def test_same_scan_id_gets_the_same_answer(world, door):
    code = code_of(door.order["attendees"][0])
    first = scan(world, door.registrar, door.event, code, "device1-0001").json()
    other = scan(world, door.registrar, door.event, code, "device1-0002").json()
    retry = scan(world, door.registrar, door.event, code, "device1-0001").json()
    assert (first["result"], other["result"]) == ("admitted", "already-in")
    assert retry == first  # a retry of the admitting scan is still "admitted", not "already in"


def test_figures_count_checked_in_over_sold(world, door):
    scan(world, door.registrar, door.event, code_of(door.order["attendees"][1]))
    resp = world.api.get(f"/v1/checkin/events/{door.event.id}/figures",
                         token=door.registrar.token)
    assert resp.json() == {"checked-in": 1, "sold": 2}


def test_forged_code_with_valid_shape_is_refused(world, door):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from openevent.signing import codes

    aid = int(door.order["attendees"][0])
    from openevent.models.orders import Attendee

    real = Attendee.get(aid)
    forged = codes.sign(codes.TicketClaim(keys.ring().active, int(door.event.id), aid,
                                          int(real.ticket_id), 1), Ed25519PrivateKey.generate())
    answer = scan(world, door.registrar, door.event, forged).json()
    assert (answer["result"], answer["reason"], answer["attendee"]) == \
        ("refused", "invalid", None)
    assert not Attendee.get(aid).is_checked_in


def test_clear_text_code_of_old_tickets_is_refused(world, door):
    answer = scan(world, door.registrar, door.event,
                  f"{door.order['identifier']}-{door.order['attendees'][0]}").json()
    assert answer["result"] == "refused"


def test_cancelled_order_is_refused(world, people, door):
    code = code_of(door.order["attendees"][0])
    resp = world.api.delete(f"/v1/orders/{door.order['id']}", token=people.owner.token)
    assert resp.status == 200, resp.body
    answer = scan(world, door.registrar, door.event, code).json()
    assert (answer["result"], answer["reason"]) == ("refused", "cancelled")
    assert answer["attendee"]["name"] == "Ada Tester"


def test_reissue_voids_the_old_code(world, people, door):
    aid = door.order["attendees"][0]
    old = code_of(aid)
    assert world.api.post(f"/v1/attendees/{aid}/reissue-ticket", {},
                          token=people.buyer.token).status == 403
    resp = world.api.post(f"/v1/attendees/{aid}/reissue-ticket", {}, token=people.owner.token)
    assert resp.status == 200 and resp.json()["version"] == 2
    assert scan(world, door.registrar, door.event, old).json()["reason"] == "reissued"
    assert scan(world, door.registrar, door.event, code_of(aid)).json()["result"] == "admitted"


def test_rotation_keeps_old_tickets_until_the_organizer_revokes_the_old_key(world, people,
                                                                              door):
    old_code = code_of(door.order["attendees"][0])
    old_key = keys.ring().active
    new_key = keys.rotate_file(Path(__import__("os").environ[keys.KEYS_FILE_ENV]))
    assert keys.ring().active == new_key != old_key
    new_code = code_of(door.order["attendees"][1])
    listed = world.api.get(f"/v1/checkin/events/{door.event.id}/keys",
                           token=door.registrar.token).json()["keys"]
    assert {k["id"] for k in listed} >= {old_key, new_key}
    assert all("private" not in k for k in listed)
    url = f"/v1/checkin/events/{door.event.id}/keys/{{}}/revoke"
    assert world.api.post(url.format(old_key), {}, token=door.registrar.token).status == 403
    assert world.api.post(url.format(new_key), {}, token=people.owner.token).status == 409
    # before the revocation the old ticket admits; after it, it is refused
    assert scan(world, door.registrar, door.event, old_code, "rot-00001").json()["result"] == \
        "admitted"
    resp = world.api.post(url.format(old_key), {}, token=people.owner.token)
    assert resp.status == 200
    assert [k["revoked"] for k in resp.json()["keys"] if k["id"] == old_key] == [True]
    assert scan(world, door.registrar, door.event, old_code).json()["reason"] == "revoked-key"
    assert scan(world, door.registrar, door.event, new_code).json()["result"] == "admitted"


def test_two_devices_at_the_same_instant_exactly_one_admitted(world, door):
    code = code_of(door.order["attendees"][0])
    answers: list[dict] = []
    barrier = threading.Barrier(8)

    def device(n: int) -> None:
        barrier.wait()
        answers.append(scan(world, door.registrar, door.event, code, f"race-dev-{n:04d}",
                            device=f"Door {n}").json())

    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sorted(a["result"] for a in answers)
    assert results == ["admitted"] + ["already-in"] * 7, answers
    winner = next(a for a in answers if a["result"] == "admitted")
    assert {a["device"] for a in answers if a["result"] == "already-in"} == {winner["device"]}
    figures = world.api.get(f"/v1/checkin/events/{door.event.id}/figures",
                            token=door.registrar.token).json()
    assert figures["checked-in"] == 1


def test_dynamodb_calls_per_scan(world, door, monkeypatch):
    from pynamodb.connection.base import Connection

    calls: list[str] = []
    original = Connection._make_api_call

    def counted(conn, operation, kwargs):
        calls.append(operation)
        return original(conn, operation, kwargs)

    code = code_of(door.order["attendees"][0])
    world.api.get("/v1/checkin/events", token=door.registrar.token)  # the caller's user, cached
    monkeypatch.setattr(Connection, "_make_api_call", counted)
    scan(world, door.registrar, door.event, code, "calls-0001")
    assert calls == ["BatchGetItem", "TransactWriteItems"]
    calls.clear()
    scan(world, door.registrar, door.event, code, "calls-0002")
    assert calls == ["BatchGetItem", "PutItem"]  # already in: the answer stored
    calls.clear()
    scan(world, door.registrar, door.event, code, "calls-0001")
    assert calls == ["BatchGetItem"]  # a retry


# --- who may scan, and what a registrar sees --------------------------------------------------

def test_the_buyer_cannot_scan_their_own_ticket(world, people, door):
    code = code_of(door.order["attendees"][0])
    assert scan(world, people.buyer, door.event, code).status == 403
    assert scan(world, None, door.event, code).status == 401
    from openevent.models.orders import Attendee

    assert not Attendee.get(int(door.order["attendees"][0])).is_checked_in


def test_another_events_organizer(world, door):
    code = code_of(door.order["attendees"][0])
    assert scan(world, door.other_owner, door.event, code).status == 403
    # at their own event the ticket is refused without naming anyone
    answer = scan(world, door.other_owner, door.other_event, code).json()
    assert (answer["result"], answer["reason"], answer["attendee"]) == \
        ("refused", "other-event", None)
    for path in ("keys", "attendees", "figures"):
        assert world.api.get(f"/v1/checkin/events/{door.event.id}/{path}",
                             token=door.other_owner.token).status == 403


def test_buyer_cannot_check_themselves_in_through_the_attendee(world, people, door):
    aid = door.order["attendees"][0]
    resp = world.api.patch(f"/v1/attendees/{aid}", {"data": {
        "type": "attendee", "id": aid, "attributes": {"is-checked-in": True}}},
        token=people.buyer.token)
    assert resp.status == 403
    resp = world.api.patch(f"/v1/attendees/{aid}", {"data": {
        "type": "attendee", "id": aid,
        "attributes": {"checkin-times": "2026-12-05T10:00:00.000Z"}}},
        token=people.buyer.token)
    assert resp.status == 403


def test_registrar_sees_names_and_tickets_but_no_money_or_contacts(world, people, door):
    resp = world.api.get(f"/v1/checkin/events/{door.event.id}/attendees",
                         token=door.registrar.token)
    assert resp.status == 200
    rows = resp.json()["attendees"]
    assert sorted(r["name"] for r in rows) == ["Ada Tester", "Grace Tester"]
    text = resp.body if isinstance(resp.body, str) else resp.body.decode()
    assert "@example.com" not in text and "amount" not in text and "price" not in text
    assert set(rows[0]) == {"id", "name", "ticket", "ticket-id", "version", "state",
                            "checked-in", "checked-in-at", "device"}
    token = door.registrar.token
    for path in (f"/v1/orders/{door.order['identifier']}",
                 f"/v1/events/{door.event.id}/orders",
                 f"/v1/events/{door.event.id}/attendees",
                 f"/v1/attendees/{door.order['attendees'][0]}",
                 f"/v1/events/{door.event.id}/order-statistics",
                 f"/v1/orders/{door.order['identifier']}/tickets-pdf"):
        assert world.api.get(path, token=token).status in (403, 404), path
    answer = scan(world, door.registrar, door.event, code_of(door.order["attendees"][0]))
    assert set(answer.json()["attendee"]) == {"id", "name", "ticket"}


def test_registrar_lists_only_their_events(world, door):
    events = world.api.get("/v1/checkin/events", token=door.registrar.token).json()["events"]
    assert [e["id"] for e in events] == [str(door.event.id)]


@pytest.mark.parametrize("body,field", [
    ({"scan-id": "abcdefgh1"}, "/code"),
    ({"code": 5, "scan-id": "abcdefgh1"}, "/code"),
    ({"code": "OE" + "A" * 300, "scan-id": "abcdefgh1"}, "/code"),
    ({"code": "OEAAAA"}, "/scan-id"),
    ({"code": "OEAAAA", "scan-id": "short"}, "/scan-id"),
    ({"code": "OEAAAA", "scan-id": "abcdefgh1", "device": ["x"]}, "/device"),
    ({"code": "OEAAAA", "scan-id": "abcdefgh1", "scanned-at": "yesterday"}, "/scanned-at"),
])
def test_bad_input_is_400_naming_the_field(world, door, body, field):
    resp = world.api.post_json(f"/v1/checkin/events/{door.event.id}/scans", body,
                               token=door.registrar.token)
    assert resp.status == 400
    assert field in resp.body if isinstance(resp.body, str) else field.encode() in resp.body


def test_a_second_order_of_the_event_scans_independently(world, people, door, shop):
    other = complete_order(world, people.stranger, door.event, shop.free, ["Linus"])
    answer = scan(world, door.registrar, door.event, code_of(other["attendees"][0])).json()
    assert answer["result"] == "admitted" and answer["attendee"]["name"] == "Linus Tester"


def test_refunded_order_is_refused(world, door):
    """A refund made at the provider (its webhook records the total refunded, the order stays
    completed) voids the ticket all the same."""
    from decimal import Decimal

    from openevent.models.orders import Attendee, Order
    from openevent.orders.webhooks import record_refund_total

    aid = door.order["attendees"][1]
    order = Order.get(int(door.order["id"]))
    assert record_refund_total(order, Decimal(order.amount)) == "refund recorded"
    assert Order.get(order.id).status == "completed"
    answer = scan(world, door.registrar, door.event, code_of(aid)).json()
    assert (answer["result"], answer["reason"]) == ("refused", "refunded")
    assert not Attendee.get(int(aid)).is_checked_in


def test_scanner_list_pages_and_refuses_foreign_cursors(world, door):
    import base64
    import json

    url = f"/v1/checkin/events/{door.event.id}/attendees"
    first = world.api.get(f"{url}?page[size]=1", token=door.registrar.token).json()
    assert len(first["attendees"]) == 1 and first["next"]
    second = world.api.get(f"{url}?page[size]=1&page[cursor]={first['next']}",
                           token=door.registrar.token).json()
    assert {first["attendees"][0]["id"], second["attendees"][0]["id"]} == \
        set(door.order["attendees"])
    foreign = base64.urlsafe_b64encode(json.dumps(
        {"id": 1, "event_id": int(door.other_event.id)}).encode()).decode().rstrip("=")
    for cursor in (foreign, "!!!", "e30", "bm90IGpzb24"):
        resp = world.api.get(f"{url}?page[cursor]={cursor}", token=door.registrar.token)
        assert resp.status == 400, (cursor, resp.body)
    assert world.api.get(f"{url}?page[size]=0", token=door.registrar.token).status == 400
