"""Every relationship's `links.self` and `links.related` answers (API.md §1): clients follow
those links instead of building URLs."""

from __future__ import annotations

import pytest

from tests.orders.conftest import attendee_doc, order_doc


@pytest.fixture
def graph(api, world, people, shop):
    code = world.code(shop.event, [shop.paid], code="LINKS")
    world.tax(shop.event, "19", included=True)
    aid = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="L",
                                                 lastname="K", email="l@example.com"),
                   token=people.buyer.token).json()["data"]["id"]
    order = api.post("/v1/orders", order_doc(shop.event, [aid]), token=people.buyer.token)
    return {
        "event": f"/v1/events/{shop.event.id}",
        "ticket": f"/v1/tickets/{shop.paid.id}",
        "code": f"/v1/discount-codes/{code.id}",
        "user": f"/v1/users/{people.buyer.id}",
        "attendee": f"/v1/attendees/{aid}",
        "order": f"/v1/orders/{order.json()['data']['attributes']['identifier']}",
    }


@pytest.mark.parametrize("kind", ["event", "ticket", "code", "user", "attendee", "order"])
def test_relationship_links_answer(api, people, graph, kind):
    doc = api.get(graph[kind], token=people.admin.token)
    assert doc.status == 200, doc.body
    relationships = doc.json()["data"]["relationships"]
    assert relationships
    for name, rel in relationships.items():
        for which in ("self", "related"):
            link = rel["links"][which]
            assert link.startswith("/v1/"), (name, link)
            resp = api.get(link, token=people.admin.token)
            assert resp.status == 200, f"{kind}.{name} {which} {link}: {resp.body[:200]!r}"
        linkage = api.get(rel["links"]["self"], token=people.admin.token).json()
        assert "data" in linkage and linkage["links"]["related"] == rel["links"]["related"]


def test_to_many_relationship_lists_its_members(api, people, graph, shop):
    body = api.get(f"{graph['event']}/relationships/tickets", token=people.admin.token).json()
    assert sorted(item["id"] for item in body["data"]) == sorted(
        [str(shop.paid.id), str(shop.free.id)])
    assert {item["type"] for item in body["data"]} == {"ticket"}


def test_unknown_relationship_is_404(api, people, graph):
    resp = api.get(f"{graph['event']}/relationships/nonsense", token=people.admin.token)
    assert resp.status == 404
