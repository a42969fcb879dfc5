"""Issue 20, item 12: an unverified account cannot take free seats (as Open Event Server:
403 "Unverified user cannot place free orders" unless the admin setting
`allow-unverified-free-orders` is on; off by default) — so a script signing up throwaway
addresses cannot empty a free event."""

from __future__ import annotations

from tests.conftest import error_of


def _refused(resp):
    assert resp.status == 403, resp.body
    err = error_of(resp)
    assert err["detail"] == "Unverified user cannot place free orders"
    assert err["source"]["pointer"] == "/data/relationships/user"


def test_throwaway_accounts_cannot_take_free_seats(world, people, shop):
    for _ in range(3):
        throwaway = world.make_user(verified=False)
        _refused(world.checkout(throwaway, [(shop.free, 2)]))
    assert int(world.ticket_state(shop.free).seats_taken or 0) == 0


def test_nor_through_the_classic_two_steps(world, people, shop):
    throwaway = world.make_user(verified=False)
    held = world.attendee(throwaway, shop.event, shop.free)
    assert held.status == 201, held.body  # a hold expires; the order is what keeps seats
    _refused(world.classic_order(throwaway, shop.event, [held.json()["data"]["id"]]))
    assert int(world.ticket_state(shop.free).seats_taken or 0) <= 1


def test_a_free_order_with_a_paid_ticket_free_by_a_full_code_is_refused_too(world, people,
                                                                            shop):
    world.code(shop.event, [shop.paid], code="ALLFREE", type="percent", value=100)
    throwaway = world.make_user(verified=False)
    _refused(world.checkout(throwaway, [(shop.paid, 1)], **{"discount-code": "ALLFREE"}))


def test_unverified_accounts_still_buy_paid_seats(world, people, shop):
    unverified = world.make_user(verified=False)
    resp = world.checkout(unverified, [(shop.paid, 1)])
    assert resp.status == 201, resp.body


def test_verified_accounts_and_organizers_order_free_seats(world, people, shop):
    assert world.checkout(people.buyer, [(shop.free, 1)]).status == 201
    assert world.checkout(people.owner, [(shop.free, 1)]).status == 201


def test_the_admin_setting_allows_them(world, people, shop):
    admin = people.admin
    doc = {"data": {"type": "setting", "id": "1",
                    "attributes": {"allow-unverified-free-orders": True}}}
    resp = world.api.patch("/v1/settings", doc, token=admin.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["allow-unverified-free-orders"] is True
    unverified = world.make_user(verified=False)
    assert world.checkout(unverified, [(shop.free, 1)]).status == 201


def test_the_setting_is_off_by_default_and_for_admins_only(world, people):
    admin_view = world.api.get("/v1/settings", token=people.admin.token).json()
    assert admin_view["data"]["attributes"]["allow-unverified-free-orders"] is False
    public = world.api.get("/v1/settings").json()["data"]["attributes"]
    assert "allow-unverified-free-orders" not in public
    doc = {"data": {"type": "setting", "id": "1",
                    "attributes": {"allow-unverified-free-orders": True}}}
    assert world.api.patch("/v1/settings", doc, token=people.buyer.token).status == 403
