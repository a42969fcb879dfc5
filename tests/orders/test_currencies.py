"""Money is exact in every currency's minor units: JPY/KRW 0 decimals, most 2, and KWD/BHD 2 as
well (Stripe takes their thousandths only in multiples of 10: payments/currencies.py).

Every amount the server computes can be paid; prices are validated against the event's
currency; no payment path answers 5xx for an amount."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.events.conftest import doc


def _event(world, people, currency):
    """An event taking Stripe, and PayPal too where PayPal takes the currency."""
    return world.event(people.owner, can_pay_by_stripe=True,
                       can_pay_by_paypal=currency not in ("KWD", "BHD"),
                       payment_currency=currency)


def _quote(world, ticket, quantity=1, **extra):
    resp = world.api.post_json("/v1/orders/calculate-amount",
                               {"tickets": [{"id": ticket.id, "quantity": quantity}], **extra})
    assert resp.status == 200, resp.body
    return resp.json()


@pytest.mark.parametrize("currency,price,percent,total", [
    ("JPY", "1250", 15, 1062),          # 187.5 off rounds to 188: never 1062.5
    ("KRW", "9999", 15, 8499),          # 1499.85 off -> 1500
    ("USD", "10.05", 15, 8.54),         # 1.5075 off -> 1.51
    ("KWD", "12.34", 10, 11.11),        # 1.234 off -> 1.23 (Stripe: tens of fils)
    ("BHD", "0.99", 50, 0.49),          # 0.495 off -> 0.50
])
def test_discounted_totals_are_in_the_currency_minor_units(world, people, currency, price,
                                                          percent, total):
    event = _event(world, people, currency)
    ticket = world.ticket(event, price=price)
    code = world.code(event, [ticket], code="PCT", type="percent", value=percent)
    body = _quote(world, ticket, **{"discount-code": code.code})
    assert body["total"] == total
    assert body["tickets"][0]["sub_total"] == total


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_stripe_order_in_each_currency_is_paid_exactly(world, people, stripe, currency):
    from openevent.events.stripe_connect import authorize
    from openevent.models.users import User

    event = _event(world, people, currency)
    authorize(User.get(people.owner.id), event, stripe.create_connect_code())
    # KWD: 15% of 12.34 is 1.851, a third decimal the Stripe sandbox would refuse (12340 - 1851)
    price = {"USD": "10.05", "JPY": "1250", "KWD": "12.34"}[currency]
    ticket = world.ticket(event, price=price)
    code = world.code(event, [ticket], code="PCT", type="percent", value=15)
    created = world.checkout(people.buyer, [(ticket, 1)], **{"discount-code": code.code,
                                                            "payment-mode": "stripe"})
    assert created.status == 201, created.body
    order = created.json()["data"]
    expected = _quote(world, ticket, **{"discount-code": code.code})["total"]
    assert order["attributes"]["amount"] == expected
    patched = world.api.patch(f"/v1/orders/{order['attributes']['identifier']}",
                              {"data": {"type": "order", "id": order["id"],
                                        "attributes": {"status": "pending"}}},
                              token=people.buyer.token)
    assert patched.status in (200, 422), patched.body
    charge = world.api.post(f"/v1/orders/{order['attributes']['identifier']}/charge",
                            {"data": {"type": "charge", "attributes": {"stripe": "tok_visa"}}},
                            token=people.buyer.token)
    assert charge.status == 200, charge.body
    assert charge.json()["data"]["attributes"]["status"] is True
    stored = world.order(order["id"])
    assert stored.status == "completed"
    paid = stripe.get_object(stored.transaction_id)
    minor = {"USD": 100, "JPY": 1, "KWD": 1000}[currency]
    assert paid["amount"] == round(expected * minor)
    assert paid["currency"] == currency.lower()


@pytest.mark.parametrize("currency,price", [("USD", 10.005), ("JPY", 10.5), ("KWD", 1.2345),
                                            ("KWD", 1.235)])
def test_ticket_price_finer_than_the_currency_is_422(api, world, people, currency, price):
    event = _event(world, people, currency)
    resp = api.post("/v1/tickets", doc("ticket", {"name": "T", "type": "paid", "price": price,
                                                  "quantity": 5}, event=event.id),
                    token=people.owner.token)
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/price"


def test_three_decimal_currency_price_is_stored_exactly(api, world, people):
    event = world.event(people.owner, can_pay_by_stripe=True, payment_currency="KWD")
    resp = api.post("/v1/tickets", doc("ticket", {"name": "T", "type": "paid",
                                                  "price": 12.34, "quantity": 5},
                                       event=event.id), token=people.owner.token)
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["attributes"]["price"] == 12.34


def test_organizer_amount_finer_than_the_currency_is_422(world, people):
    event = _event(world, people, "JPY")
    ticket = world.ticket(event, price="1000")
    aid = world.attendee(people.owner, event, ticket).json()["data"]["id"]
    resp = world.classic_order(people.owner, event, [aid], amount=999.5,
                               **{"payment-mode": "stripe"})
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/amount"


def test_a_stored_unpayable_amount_is_a_4xx_never_a_5xx(world, people, stripe):
    """Data written before the rounding rule (1062.5 JPY) is refused, not a 500."""
    from decimal import Decimal

    from openevent.events.stripe_connect import authorize
    from openevent.models.orders import Order
    from openevent.models.users import User

    event = _event(world, people, "JPY")
    authorize(User.get(people.owner.id), event, stripe.create_connect_code())
    ticket = world.ticket(event, price="1250")
    created = world.checkout(people.buyer, [(ticket, 1)], **{"payment-mode": "stripe"})
    order = created.json()["data"]
    Order(int(order["id"])).update(actions=[Order.amount.set(Decimal("1062.5")),
                                            Order.status.set("pending")])
    charge = world.api.post(f"/v1/orders/{order['attributes']['identifier']}/charge",
                            {"data": {"type": "charge", "attributes": {"stripe": "tok_visa"}}},
                            token=people.buyer.token)
    assert charge.status == 422, charge.body
