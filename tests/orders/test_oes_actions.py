"""The actions added for Open Event Server's API description, from the attacker's side first:
on-site orders (seats), send-receipt (mail flood, other people's orders), attendee search
and state (personal data), attendee deletion (seats), Stripe authorizations by their own
path (foreign accounts), fresh-login / verify-password / blacklist (tokens), the admin's
discount-code list and a user's codes."""

from __future__ import annotations

import pytest

from tests.conftest import error_of


def _completed_free(world, people, shop, seats=1, buyer=None):
    buyer = buyer or people.buyer
    made = world.checkout(buyer, [(shop.free, seats)])
    assert made.status == 201, made.body
    order = made.json()["data"]
    for a in order["relationships"]["attendees"]["data"]:
        world.api.patch(f"/v1/attendees/{a['id']}", {"data": {
            "type": "attendee", "id": a["id"], "attributes": {
                "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}}},
            token=buyer.token)
    done = world.api.patch(f"/v1/orders/{order['attributes']['identifier']}", {"data": {
        "type": "order", "id": order["id"], "attributes": {"status": "completed"}}},
        token=buyer.token)
    assert done.status == 200, done.body
    return done.json()["data"]


def _onsite(world, shop, token, tickets, **attrs):
    items = [{"data": {"type": "on-site-ticket", "attributes": {"id": str(t), "quantity": q}}}
             for t, q in tickets]
    return world.api.post("/v1/orders?onsite=true", {"data": {
        "type": "order", "attributes": {"on-site-tickets": items, **attrs},
        "relationships": {"event": {"data": {"type": "event", "id": str(shop.event.id)}}}}},
        token=token)


# --- on-site orders ----------------------------------------------------------------------------

@pytest.mark.parametrize("role,status", [("buyer", 403), ("stranger", 403),
                                         ("coorganizer", 201), ("owner", 201), ("admin", 201)])
def test_only_the_organizer_side_sells_on_site(world, people, shop, role, status):
    resp = _onsite(world, shop, getattr(people, role).token, [(shop.paid.id, 2)],
                   **{"payment-mode": "onsite", "status": "completed"})
    assert resp.status == status, resp.body
    if status == 201:
        attrs = resp.json()["data"]["attributes"]
        assert attrs["status"] == "completed" and attrs["amount"] == 20.0
    assert world.ticket_state(shop.paid).seats_taken == (2 if status == 201 else 0)


def test_on_site_never_sells_beyond_the_quantity(world, people, shop):
    resp = _onsite(world, shop, people.owner.token, [(shop.paid.id, 6)],
                   **{"payment-mode": "onsite"})
    assert resp.status == 409, resp.body
    assert world.ticket_state(shop.paid).seats_taken == 0
    assert _onsite(world, shop, people.owner.token, [(shop.paid.id, 5)],
                   **{"payment-mode": "onsite"}).status == 201
    assert _onsite(world, shop, people.owner.token, [(shop.paid.id, 1)],
                   **{"payment-mode": "onsite"}).status == 409


def test_on_site_tickets_of_another_event_are_refused(world, people, shop):
    other = world.event(people.stranger)
    foreign = world.ticket(other, name="Theirs", quantity=5)
    resp = _onsite(world, shop, people.owner.token, [(foreign.id, 1)])
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"].startswith("/data/attributes/on-site-tickets/0")
    assert world.ticket_state(foreign).seats_taken == 0


@pytest.mark.parametrize("items", [None, [], ["x"], [{"data": {"attributes": {"id": "1"}}}],
                                   [{"data": {"attributes": {"id": "1", "quantity": -1}}}]])
def test_bad_on_site_tickets_are_422(world, people, shop, items):
    resp = world.api.post("/v1/orders?onsite=true", {"data": {
        "type": "order", "attributes": {"on-site-tickets": items},
        "relationships": {"event": {"data": {"type": "event", "id": str(shop.event.id)}}}}},
        token=people.owner.token)
    assert resp.status == 422, resp.body
    assert "on-site-tickets" in error_of(resp)["source"]["pointer"]


def test_a_paid_on_site_order_cannot_claim_to_be_free(world, people, shop):
    resp = _onsite(world, shop, people.owner.token, [(shop.paid.id, 1)],
                   **{"payment-mode": "free"})
    assert resp.status == 422
    assert world.ticket_state(shop.paid).seats_taken == 0


# --- send-receipt --------------------------------------------------------------------------

def _receipt(world, token, identifier):
    return world.api.post_json("/v1/attendees/send-receipt", {"order-identifier": identifier},
                               token=token)


@pytest.mark.parametrize("role,status", [("stranger", 403), ("coorganizer", 200),
                                         ("buyer", 200), ("admin", 200)])
def test_receipt_only_for_the_buyer_and_organizers(world, people, shop, outbox, role, status):
    order = _completed_free(world, people, shop)
    assert _receipt(world, getattr(people, role).token,
                    order["attributes"]["identifier"]).status == status


def test_receipt_mails_the_holders_again(world, people, shop, outbox):
    from tests.conftest import mails_to

    order = _completed_free(world, people, shop)
    before = len(mails_to(outbox, "ada@example.com"))
    resp = _receipt(world, people.buyer.token, order["attributes"]["identifier"])
    assert resp.status == 200 and resp.json() == {"message": "receipt sent to attendees"}
    assert len(mails_to(outbox, "ada@example.com")) == before + 1


def test_receipt_cannot_flood_mailboxes(world, people, shop, outbox):
    ident = _completed_free(world, people, shop)["attributes"]["identifier"]
    statuses = [_receipt(world, people.buyer.token, ident).status for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2


def test_receipt_of_an_unfinished_order_is_409(world, people, shop):
    made = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    assert _receipt(world, people.buyer.token, made["attributes"]["identifier"]).status == 409


@pytest.mark.parametrize("body,status", [({}, 422), ({"order-identifier": 7}, 422),
                                         ({"order-identifier": "nope"}, 404)])
def test_receipt_bad_input(world, people, body, status):
    resp = world.api.post_json("/v1/attendees/send-receipt", body, token=people.buyer.token)
    assert resp.status == status


def test_receipt_needs_a_login(world):
    assert world.api.post_json("/v1/attendees/send-receipt", {"order-identifier": "x"}
                               ).status == 401


# --- attendee search, state, event ---------------------------------------------------------

@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 403),
                                         ("buyer", 403), ("coorganizer", 200)])
def test_search_is_for_the_organizer_side(world, people, shop, role, status):
    _completed_free(world, people, shop)
    token = None if role == "anonymous" else getattr(people, role).token
    resp = world.api.get(f"/v1/events/{shop.event.id}/attendees/search?name=ada", token=token)
    assert resp.status == status


def test_search_matches_name_and_email_within_the_event(world, people, shop):
    _completed_free(world, people, shop)
    other = world.event(people.owner)
    ticket = world.ticket(other, name="Other", quantity=5)
    assert world.attendee(people.buyer, other, ticket, firstname="Ada").status == 201
    found = world.api.get(f"/v1/events/{shop.event.id}/attendees/search?name=ADA",
                          token=people.owner.token).json()["attendees"]
    assert len(found) == 1 and found[0]["firstname"] == "Ada"
    assert found[0]["ticket-id"] == str(shop.free.id)
    none = world.api.get(f"/v1/events/{shop.event.id}/attendees/search?email=nobody",
                         token=people.owner.token).json()["attendees"]
    assert none == []


def test_state_of_someone_elses_attendee_is_404(world, people, shop):
    order = _completed_free(world, people, shop)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    path = f"/v1/states?event_id={shop.event.id}&attendee_id={attendee}"
    assert world.api.get(path, token=people.stranger.token).status == 404
    mine = world.api.get(path, token=people.buyer.token)
    assert mine.status == 200
    assert mine.json() == {"is_registered": False, "register_times": None}


def test_state_checks_its_parameters(world, people, shop):
    order = _completed_free(world, people, shop)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    other = world.event(people.owner)
    token = people.owner.token
    assert world.api.get("/v1/states", token=token).status == 404
    assert world.api.get(f"/v1/states?event_id=x&attendee_id={attendee}",
                         token=token).status == 422
    assert world.api.get(f"/v1/states?event_id={other.id}&attendee_id={attendee}",
                         token=token).status == 422
    assert world.api.get(f"/v1/states?event_id={shop.event.id}&attendee_id={attendee}"
                         ).status == 401


def test_event_of_someone_elses_attendee_is_403(world, people, shop):
    order = _completed_free(world, people, shop)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    assert world.api.get(f"/v1/attendees/{attendee}/event",
                         token=people.stranger.token).status == 403
    assert world.api.get(f"/v1/attendees/{attendee}/event",
                         token=people.buyer.token).status == 200


def test_attendee_notes_are_kept(world, people, shop):
    order = _completed_free(world, people, shop)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    resp = world.api.patch(f"/v1/attendees/{attendee}", {"data": {
        "type": "attendee", "id": attendee, "attributes": {"attendee-notes": "VIP"}}},
        token=people.owner.token)
    assert resp.status == 200, resp.body
    got = world.api.get(f"/v1/attendees/{attendee}", token=people.owner.token).json()
    assert got["data"]["attributes"]["attendee-notes"] == "VIP"
    # the buyer cannot change the details of a completed order's holder
    resp = world.api.patch(f"/v1/attendees/{attendee}", {"data": {
        "type": "attendee", "id": attendee, "attributes": {"attendee-notes": "mine"}}},
        token=people.buyer.token)
    assert resp.status == 403


# --- attendee deletion: seats ----------------------------------------------------------------

def test_deleting_a_held_attendee_gives_the_seat_back(world, people, shop):
    held = world.attendee(people.buyer, shop.event, shop.free).json()["data"]["id"]
    assert world.ticket_state(shop.free).seats_taken == 1
    assert world.api.delete(f"/v1/attendees/{held}", token=people.stranger.token).status == 403
    resp = world.api.delete(f"/v1/attendees/{held}", token=people.buyer.token)
    assert resp.status == 200 and resp.json()["meta"]["message"] == "Object successfully deleted"
    assert world.ticket_state(shop.free).seats_taken == 0
    assert world.api.delete(f"/v1/attendees/{held}", token=people.buyer.token).status == 404


def test_an_attendee_of_a_live_order_is_not_deleted_alone(world, people, shop):
    order = _completed_free(world, people, shop, seats=2)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    for token in (people.owner.token, people.admin.token):
        assert world.api.delete(f"/v1/attendees/{attendee}", token=token).status == 409
    assert world.api.delete(f"/v1/attendees/{attendee}", token=people.buyer.token
                            ).status == 403
    assert world.ticket_state(shop.free).seats_taken == 2


def _attendee_count(world, people, shop):
    body = world.api.get(f"/v1/events/{shop.event.id}/attendees",
                         token=people.owner.token).json()
    return body["meta"]["count"], len(body["data"])


def test_an_attendee_of_a_cancelled_order_is_deleted_by_organizers(world, people, shop):
    order = _completed_free(world, people, shop, seats=2)
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    cancelled = world.api.delete(f"/v1/orders/{order['attributes']['identifier']}",
                                 token=people.owner.token)
    assert cancelled.status == 200, cancelled.body
    assert world.ticket_state(shop.free).seats_taken == 0
    assert _attendee_count(world, people, shop) == (2, 2)
    assert world.api.delete(f"/v1/attendees/{attendee}", token=people.buyer.token
                            ).status == 403
    assert world.api.delete(f"/v1/attendees/{attendee}", token=people.stranger.token
                            ).status == 403
    resp = world.api.delete(f"/v1/attendees/{attendee}", token=people.coorganizer.token)
    assert resp.status == 200, resp.body
    assert _attendee_count(world, people, shop) == (1, 1)
    assert world.ticket_state(shop.free).seats_taken == 0  # given back once, with the order
    assert world.api.delete(f"/v1/attendees/{attendee}", token=people.owner.token
                            ).status == 404


# --- stripe authorizations by their own path -----------------------------------------------

def _auth_id(shop):
    from openevent.events.stripe_connect import authorization_of

    return authorization_of(shop.event.id).id


@pytest.mark.parametrize("role,status", [("stranger", 403), ("buyer", 403),
                                         ("coorganizer", 403), ("owner", 200)])
def test_only_organizers_change_the_stripe_account(world, people, shop, stripe, role, status):
    auth_id = _auth_id(shop)
    before = world.api.get(f"/v1/stripe-authorizations/{auth_id}",
                           token=people.owner.token).json()["data"]["attributes"]
    resp = world.api.patch(f"/v1/stripe-authorizations/{auth_id}", {"data": {
        "type": "stripe-authorization", "id": str(auth_id),
        "attributes": {"stripe-auth-code": stripe.create_connect_code()}}},
        token=getattr(people, role).token)
    assert resp.status == status, resp.body
    after = world.api.get(f"/v1/stripe-authorizations/{auth_id}",
                          token=people.owner.token).json()["data"]["attributes"]
    assert (after != before) == (status == 200)
    assert set(after) == {"stripe-publishable-key"}  # tokens are never served


@pytest.mark.parametrize("role,status", [("stranger", 403), ("coorganizer", 403),
                                         ("owner", 200)])
def test_only_organizers_disconnect_stripe(world, people, shop, stripe, role, status):
    auth_id = _auth_id(shop)
    resp = world.api.delete(f"/v1/stripe-authorizations/{auth_id}",
                            token=getattr(people, role).token)
    assert resp.status == status
    gone = world.api.get(f"/v1/stripe-authorizations/{auth_id}", token=people.owner.token)
    assert gone.status == (404 if status == 200 else 200)


def test_stripe_authorization_needs_a_login(world, shop, stripe):
    assert world.api.get(f"/v1/stripe-authorizations/{_auth_id(shop)}").status == 401


def test_stripe_authorization_cannot_move_to_another_event(world, people, shop, stripe):
    other = world.event(people.owner)
    auth_id = _auth_id(shop)
    resp = world.api.patch(f"/v1/stripe-authorizations/{auth_id}", {"data": {
        "type": "stripe-authorization", "id": str(auth_id), "attributes": {},
        "relationships": {"event": {"data": {"type": "event", "id": str(other.id)}}}}},
        token=people.owner.token)
    assert resp.status == 422


# --- tokens: fresh login, password check, blacklist ----------------------------------------

def test_fresh_login_only_with_ones_own_credentials(world, people):
    mine = {"email": people.buyer.email, "password": people.buyer.password}
    theirs = {"email": people.stranger.email, "password": people.stranger.password}
    assert world.api.post_json("/v1/auth/fresh-login", mine).status == 401  # no token
    assert world.api.post_json("/v1/auth/fresh-login", theirs,
                               token=people.buyer.token).status == 401
    assert world.api.post_json("/v1/auth/fresh-login", {**mine, "password": "wrong"},
                               token=people.buyer.token).status == 401
    ok = world.api.post_json("/v1/auth/fresh-login", mine, token=people.buyer.token)
    assert ok.status == 200 and set(ok.json()) == {"access_token"}


def test_verify_password(world, people):
    check = "/v1/auth/verify-password"
    assert world.api.post_json(check, {"password": "x"}).status == 401
    assert world.api.post_json(check, {}, token=people.buyer.token).status == 400
    assert world.api.post_json(check, {"password": "wrong"}, token=people.buyer.token
                               ).json() == {"result": False}
    assert world.api.post_json(check, {"password": people.buyer.password},
                               token=people.buyer.token).json() == {"result": True}


def test_blacklist_ends_every_token_issued_before(world, people):
    login = world.api.post_json("/v1/auth/login", {"email": people.buyer.email,
                                                   "password": people.buyer.password}).json()
    resp = world.api.post_json("/v1/auth/blacklist", {}, token=login["access_token"])
    assert resp.status == 200 and resp.json() == {"success": True}
    assert world.api.get(f"/v1/users/{people.buyer.id}", token=login["access_token"]
                         ).status == 401
    assert world.api.get(f"/v1/users/{people.buyer.id}", token=people.buyer.token).status == 401
    assert world.api.post_json("/v1/auth/token/refresh",
                               {"refresh_token": login["refresh_token"]}).status == 401
    again = world.api.post_json("/v1/auth/login", {"email": people.buyer.email,
                                                   "password": people.buyer.password}).json()
    assert world.api.get(f"/v1/users/{people.buyer.id}", token=again["access_token"]
                         ).status == 200
    assert world.api.post_json("/v1/auth/blacklist", {}).status == 401


# --- discount codes: the admin list, a user's codes, a code's events -----------------------

def _event_code(world, people, shop):
    return world.api.post("/v1/discount-codes", {"data": {
        "type": "discount-code", "attributes": {
            "code": "PLATFORM", "value": 10, "type": "percent", "used-for": "event"},
        "relationships": {"events": {"data": [{"type": "event", "id": str(shop.event.id)}]}}}},
        token=people.admin.token)


def test_event_codes_are_made_and_listed_by_admins_only(world, people, shop):
    as_owner = world.api.post("/v1/discount-codes", {"data": {
        "type": "discount-code", "attributes": {
            "code": "MINE", "value": 10, "type": "percent", "used-for": "event"},
        "relationships": {"events": {"data": [{"type": "event", "id": str(shop.event.id)}]}}}},
        token=people.owner.token)
    assert as_owner.status == 403
    made = _event_code(world, people, shop)
    assert made.status == 201, made.body
    world.code(shop.event, [shop.paid], code="TICKETCODE")
    listed = world.api.get("/v1/discount-codes", token=people.admin.token).json()["data"]
    assert [c["attributes"]["code"] for c in listed] == ["PLATFORM"]
    assert world.api.get("/v1/discount-codes", token=people.owner.token).status == 403
    assert world.api.get("/v1/discount-codes").status == 401


def test_an_event_code_names_exactly_one_event(world, people, shop):
    other = world.event(people.owner)
    resp = world.api.post("/v1/discount-codes", {"data": {
        "type": "discount-code", "attributes": {
            "code": "TWO", "value": 10, "type": "percent", "used-for": "event"},
        "relationships": {"events": {"data": [
            {"type": "event", "id": str(shop.event.id)},
            {"type": "event", "id": str(other.id)}]}}}}, token=people.admin.token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/relationships/events"}


def test_a_users_codes_are_their_own(world, people, shop):
    code = world.code(shop.event, [shop.paid], code="MARKET", marketer_id=people.coorganizer.id)
    path = f"/v1/users/{people.coorganizer.id}/discount-codes"
    assert world.api.get(path, token=people.stranger.token).status == 403
    mine = world.api.get(path, token=people.coorganizer.token).json()["data"]
    assert [int(c["id"]) for c in mine] == [int(code.id)]
    assert world.api.get(path, token=people.admin.token).status == 200


def test_events_of_a_code_follow_the_codes_rule(world, people, shop):
    code = world.code(shop.event, [shop.paid], code="SEEN")
    path = f"/v1/discount-codes/{code.id}/events"
    assert world.api.get(path, token=people.stranger.token).status == 403
    events = world.api.get(path, token=people.coorganizer.token).json()["data"]
    assert [e["id"] for e in events] == [str(shop.event.id)]


def test_deleted_at_is_served(world, people, shop):
    got = world.api.get(f"/v1/tickets/{shop.paid.id}", token=people.owner.token).json()
    assert got["data"]["attributes"]["deleted-at"] is None


def test_only_admins_read_soft_deleted_items(world, people, shop):
    spare = world.ticket(shop.event, name="Spare", quantity=3)
    code = world.code(shop.event, [shop.paid], code="GONE")
    held = world.attendee(people.buyer, shop.event, shop.free).json()["data"]["id"]
    owner = people.owner.token
    assert world.api.delete(f"/v1/tickets/{spare.id}", token=owner).status == 200
    assert world.api.delete(f"/v1/discount-codes/{code.id}", token=owner).status == 200
    assert world.api.delete(f"/v1/attendees/{held}", token=people.buyer.token).status == 200
    for path in (f"/v1/tickets/{spare.id}", f"/v1/discount-codes/{code.id}",
                 f"/v1/attendees/{held}"):
        for token in (owner, people.buyer.token, people.stranger.token):
            assert world.api.get(path, token=token).status == 404, path
        seen = world.api.get(path, token=people.admin.token)
        assert seen.status == 200, (path, seen.body)
        assert seen.json()["data"]["attributes"]["deleted-at"] is not None
    # reading is all: a deleted item cannot be changed or deleted again
    assert world.api.patch(f"/v1/tickets/{spare.id}", {"data": {
        "type": "ticket", "id": str(spare.id), "attributes": {"name": "Back"}}},
        token=people.admin.token).status == 404
    assert world.api.delete(f"/v1/discount-codes/{code.id}",
                            token=people.admin.token).status == 404
    assert world.api.get("/v1/attendees/999999999", token=people.admin.token).status == 404


@pytest.mark.parametrize("sent,stored", [(587, 587), ("465", 465), ("", None), (None, None)])
def test_smtp_port_is_a_number(world, people, sent, stored):
    resp = world.api.patch("/v1/settings", {"data": {"type": "setting", "id": "1",
                                                     "attributes": {"smtp-port": sent}}},
                           token=people.admin.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["smtp-port"] == stored


@pytest.mark.parametrize("sent", [0, 70000, "port", True])
def test_a_bad_smtp_port_is_422(world, people, sent):
    resp = world.api.patch("/v1/settings", {"data": {"type": "setting", "id": "1",
                                                     "attributes": {"smtp-port": sent}}},
                           token=people.admin.token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/smtp-port"}
