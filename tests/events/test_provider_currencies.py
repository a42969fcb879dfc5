"""Issue 20, item 6: an event's currency must be one its payment methods can take, by each
provider's published rules (payments/currencies.py): PayPal takes only its listed currencies
(none of the three-decimal ones), Stripe takes BHD/JOD/KWD/OMR/TND only in multiples of 10
thousandths — so prices there have at most 2 decimals. Refused with a 422 naming the field."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.events.conftest import doc, event_attrs


def _create(api, user, **attrs):
    return api.post("/v1/events", doc("event", event_attrs(**attrs)), token=user.token)


def _patch(api, user, event_id, **attrs):
    return api.patch(f"/v1/events/{event_id}", doc("event", attrs, rid=str(event_id)),
                     token=user.token)


@pytest.mark.parametrize("currency", ["KWD", "BHD", "JOD", "OMR", "TND", "AED", "inr"])
def test_a_currency_paypal_does_not_take_is_refused_with_paypal(api, make_user, modules,
                                                                 currency):
    resp = _create(api, make_user(), **{"payment-currency": currency,
                                        "can-pay-by-paypal": True})
    assert resp.status == 422, resp.body
    error = error_of(resp)
    assert error["source"]["pointer"] == "/data/attributes/payment-currency"
    assert "PayPal" in error["detail"] and currency.upper() in error["detail"]


@pytest.mark.parametrize("currency,methods", [
    ("KWD", {"can-pay-by-stripe": True}), ("KWD", {"can-pay-onsite": True}),
    ("JPY", {"can-pay-by-paypal": True, "can-pay-by-stripe": True}),
    ("EUR", {"can-pay-by-paypal": True}), ("AED", {"can-pay-by-stripe": True}),
])
def test_a_currency_every_method_takes_is_accepted(api, make_user, modules, currency, methods):
    resp = _create(api, make_user(), **{"payment-currency": currency, **methods})
    assert resp.status == 201, resp.body


def test_enabling_paypal_on_a_kwd_event_names_the_flag(api, make_user, modules):
    owner = make_user()
    made = _create(api, owner, **{"payment-currency": "KWD", "can-pay-by-stripe": True})
    event_id = made.json()["data"]["id"]
    resp = _patch(api, owner, event_id, **{"can-pay-by-paypal": True})
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/can-pay-by-paypal"
    assert _patch(api, owner, event_id, **{"can-pay-onsite": True}).status == 200


def test_switching_a_paypal_event_to_kwd_names_the_currency(api, make_user, modules):
    owner = make_user()
    made = _create(api, owner, **{"payment-currency": "USD", "can-pay-by-paypal": True})
    event_id = made.json()["data"]["id"]
    resp = _patch(api, owner, event_id, **{"payment-currency": "KWD"})
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/payment-currency"
    both = _patch(api, owner, event_id, **{"payment-currency": "KWD",
                                           "can-pay-by-paypal": False})
    assert both.status == 200, both.body


@pytest.mark.parametrize("price,status", [(12.345, 422), (12.341, 422), (12.34, 201),
                                          (12.3, 201)])
def test_three_decimal_prices_follow_stripes_tens(api, cast, price, status):
    from openevent.models.events import Event

    cast.event.update(actions=[Event.payment_currency.set("KWD")])
    resp = api.post("/v1/tickets", doc("ticket", {"name": "T", "type": "paid", "price": price,
                                                  "quantity": 5}, event=cast.event.id),
                    token=cast.token("owner"))
    assert resp.status == status, resp.body
    if status == 422:
        assert error_of(resp)["source"]["pointer"] == "/data/attributes/price"


def test_a_paid_ticket_on_an_event_stored_with_an_unpayable_currency_is_422(api, cast):
    """Events stored before the rule (KWD with PayPal): no paid ticket is added to them."""
    from openevent.models.events import Event

    cast.event.update(actions=[Event.payment_currency.set("KWD"),
                               Event.can_pay_by_paypal.set(True)])
    owner = cast.token("owner")
    resp = api.post("/v1/tickets", doc("ticket", {"name": "T", "type": "paid", "price": 12,
                                                  "quantity": 5}, event=cast.event.id),
                    token=owner)
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/relationships/event"
    free = api.post("/v1/tickets", doc("ticket", {"name": "F", "type": "free", "quantity": 5},
                                       event=cast.event.id), token=owner)
    assert free.status == 201, free.body


def test_an_amount_code_in_kwd_follows_stripes_tens(api, cast, make_ticket):
    from openevent.models.events import Event

    cast.event.update(actions=[Event.payment_currency.set("KWD")])
    ticket = make_ticket(cast.event, name="P", type="paid", price=20)
    resp = api.post("/v1/discount-codes", doc("discount-code", {
        "code": "FILS", "type": "amount", "value": 1.005, "used-for": "ticket"},
        event=cast.event.id, tickets=[ticket.id]), token=cast.token("owner"))
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/value"


def test_racing_patches_cannot_pair_kwd_with_paypal(api, make_user, modules):
    """One PATCH turns PayPal on (checked against USD), another switches to KWD (checked
    against PayPal off), both read before either writes: the second write finds the values
    it checked changed and is a 409, never a KWD event taking PayPal."""
    from openevent.errors import Conflict
    from openevent.events import lifecycle as events
    from openevent.models.events import Event
    from openevent.models.users import User

    owner = make_user()
    made = _create(api, owner, **{"payment-currency": "USD", "can-pay-by-stripe": True})
    event_id = int(made.json()["data"]["id"])
    stale = Event.get(event_id)  # what the slower request read
    assert _patch(api, owner, event_id, **{"can-pay-by-paypal": True}).status == 200
    with pytest.raises(Conflict):
        events.update_event(User.get(owner.id), stale, {"payment_currency": "KWD"})
    stored = Event.get(event_id)
    assert (stored.payment_currency, stored.can_pay_by_paypal) == ("USD", True)
