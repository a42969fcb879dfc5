"""The door: a published event with a free ticket, a buyer's completed order of two seats, a
registrar and an organizer of another event; codes signed as the ticket PDFs carry them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orders import conftest as _orders
from tests.orders.conftest import World, attendee_doc, order_doc

# the orders tests' fixtures, used here as they are
world, people, shop = _orders.world, _orders.people, _orders.shop


def complete_order(world: World, account: Any, event: Any, ticket: Any, names: list[str]
                   ) -> dict[str, Any]:
    ids = []
    for name in names:
        resp = world.api.post("/v1/attendees", attendee_doc(
            event, ticket, firstname=name, lastname="Tester", email=f"{name.lower()}@example.com"),
            token=account.token)
        assert resp.status == 201, resp.body
        ids.append(resp.json()["data"]["id"])
    resp = world.api.post("/v1/orders", order_doc(event, ids), token=account.token)
    assert resp.status == 201, resp.body
    order = resp.json()["data"]
    assert order["attributes"]["status"] == "completed"
    return {"id": order["id"], "identifier": order["attributes"]["identifier"], "attendees": ids}


def code_of(attendee_id: Any) -> str:
    from openevent.checkin.tickets import ticket_code
    from openevent.models.orders import Attendee

    return ticket_code(Attendee.get(int(attendee_id)))


@pytest.fixture
def door(world: World, people: Any, shop: Any) -> Any:
    registrar = world.make_user()
    world.grant(shop.event, registrar, "registrar")
    order = complete_order(world, people.buyer, shop.event, shop.free, ["Ada", "Grace"])
    other_owner = world.make_user()
    other_event = world.event(other_owner, name="Other Conf")
    other_ticket = world.ticket(other_event, name="Other Free", quantity=5)
    return type("Door", (), {"event": shop.event, "registrar": registrar, "order": order,
                             "other_owner": other_owner, "other_event": other_event,
                             "other_ticket": other_ticket})


_scans = iter(range(10**9))


def scan(world: World, account: Any, event: Any, code: str, scan_id: str | None = None,
         **extra: Any) -> Any:
    body = {"code": code, "scan-id": scan_id or f"scan-{next(_scans):08d}", "device": "Door A",
            **extra}
    return world.api.post_json(f"/v1/checkin/events/{event.id}/scans", body,
                               token=account.token if account is not None else None)
