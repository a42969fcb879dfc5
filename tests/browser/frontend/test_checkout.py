"""A buyer pays for a ticket in the real web app: the paid checkout with Stripe's Payment
Element (issue 10, item 5).

The organizer's event has Stripe connected (through the local Stripe sandbox's Connect
OAuth). The app loads Stripe.js from https://js.stripe.com/v3, which this machine cannot
reach: the browser's request for it is answered with the sandbox's Stripe.js stand-in (its
`/v3`), which talks to the sandbox like Stripe.js talks to Stripe — faking Stripe at its HTTP
boundary. The sandbox sends the signed `payment_intent.succeeded` to the API's webhook, and
the order page's `verify` asks Stripe again; the app itself is unchanged."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.frontend.conftest import CACHE, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _stripe_sandbox(web) -> str:
    found = re.search(r"Stripe (http://127\.0\.0\.1:\d+)", web.log.read_text())
    assert found, "the local runtime started no Stripe sandbox"
    return found.group(1)


def _event_with_stripe(web, token: str, stripe_base: str) -> tuple[str, dict]:
    """A published event with a paid ticket whose organizer connected Stripe."""
    event = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Paid Summit", "starts-at": "2031-06-01T09:00:00+00:00",
        "ends-at": "2031-06-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "can-pay-by-stripe": True, "payment-currency": "USD", "payment-country": "Germany",
        "location-name": "Town Hall"}}}, token=token)
    assert event.status_code == 201, event.text
    identifier = event.json()["data"]["attributes"]["identifier"]
    connect = requests.get(f"{stripe_base}/oauth/authorize", params={
        "response_type": "code", "scope": "read_write", "state": "s",
        "redirect_uri": "http://127.0.0.1/connected"}, allow_redirects=False, timeout=10)
    code = re.search(r"code=([^&]+)", connect.headers["Location"]).group(1)
    authorization = web.api("POST", "/v1/stripe-authorization", {"data": {
        "type": "stripe-authorization", "attributes": {"stripe-auth-code": code},
        "relationships": {"event": {"data": {"type": "event", "id": identifier}}}}},
        token=token)
    assert authorization.status_code == 201, authorization.text
    ticket = web.api("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Supporter", "type": "paid", "price": 25, "quantity": 20,
        "sales-starts-at": "2020-01-01T00:00:00+00:00",
        "sales-ends-at": "2031-05-31T00:00:00+00:00"},
        "relationships": {"event": {"data": {"type": "event", "id": identifier}}}}},
        token=token)
    assert ticket.status_code == 201, ticket.text
    return identifier, ticket.json()["data"]


def _serve_stripe_js_from(browser, stripe_base: str) -> list[str]:
    """Answer the browser's https://js.stripe.com/v3 with the sandbox's stand-in."""
    served: list[str] = []

    def fulfill(route) -> None:
        resp = requests.get(f"{stripe_base}/v3", timeout=10)
        served.append(route.request.url)
        route.fulfill(status=resp.status_code, body=resp.text,
                      content_type="application/javascript")

    browser.page.route(re.compile(r"^https://js\.stripe\.com/v3/?(\?.*)?$"), fulfill)
    return served


def _order_the_paid_ticket(browser, identifier: str, ticket_id: str) -> str:
    page = browser.page
    browser.order_one_seat(identifier, ticket_id)
    browser.submit(page.locator("form").get_by_role("button", name="Proceed to Checkout"),
                   re.compile(r"/orders/[0-9a-f-]{36}/pending"))
    browser.settle()
    return re.search(r"/orders/([0-9a-f-]{36})/pending", page.url).group(1)


def test_buy_a_paid_ticket_with_stripe(browser, web, new_account):
    _buy_with_stripe(browser, web, new_account)


def test_buy_a_paid_ticket_with_stripe_on_the_https_origin(https_browser, web_https,
                                                            new_https_account):
    """As `make run` serves it: the app on the https origin, Stripe's `return_url` built
    from the frontend URL in effect (that origin) brings the buyer back to a served page,
    still logged in, showing the paid order."""
    _buy_with_stripe(https_browser, web_https, new_https_account, screenshots=False)
    assert https_browser.page.url.startswith(web_https.base + "/orders/")


def _buy_with_stripe(browser, web, new_account, screenshots=True):
    stripe_base = _stripe_sandbox(web)
    _, _, organizer = new_account()
    identifier, ticket = _event_with_stripe(web, organizer, stripe_base)
    address, password, _ = new_account()
    served = _serve_stripe_js_from(browser, stripe_base)
    page = browser.page
    browser.log_in(address, password)

    order_ident = _order_the_paid_ticket(browser, identifier, ticket["id"])
    buyer = web.login(address, password)
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert (order["attributes"]["status"], order["attributes"]["payment-mode"]) == (
        "pending", None)
    browser.assert_no_api_errors()

    # The payment step: choose Stripe; the app saves the mode, asks charge for the
    # PaymentIntent and mounts the Payment Element (the sandbox's card form).
    page.locator(".ui.radio.checkbox", has_text="Stripe").first.click()
    card = page.locator("#payment-element input[name=cardnumber]")
    expect(card).to_have_value("4242 4242 4242 4242", timeout=TIMEOUT_MS)
    assert served, "the app did not load Stripe.js"
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert (order["attributes"]["status"], order["attributes"]["payment-mode"]) == (
        "pending", "stripe")
    if screenshots:  # the README's pictures come from the http run
        browser.screenshot("stripe-payment-element.png")
    browser.assert_no_api_errors()

    page.get_by_role("button", name="Pay Now").click()
    page.wait_for_url(re.compile(rf"/orders/{order_ident}/view"), timeout=TIMEOUT_MS)
    browser.settle()
    expect(page.get_by_text("Paid Summit").first).to_be_visible(timeout=TIMEOUT_MS)
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert (order["attributes"]["status"], order["attributes"]["paid-via"],
            order["attributes"]["amount"]) == ("completed", "stripe", 25)
    assert order["attributes"]["transaction-id"].startswith("pi_")
    if screenshots:  # the README's pictures come from the http run
        browser.screenshot("stripe-paid-order.png")
    browser.assert_no_api_errors()

    assert browser.download_ticket()[:5] == b"%PDF-"


# --- PayPal ------------------------------------------------------------------------------------

# The app bundles paypal-checkout (checkout.js v4); PayPal's button page loads the same library
# from PayPal's CDN. The stand-in button page does too, and the browser gets the app's copy.
CHECKOUT_JS = CACHE / "src" / "node_modules" / "paypal-checkout" / "dist" / "checkout.lib.js"


def _paypal_sandbox(web) -> str:
    found = re.search(r"PayPal (http://127\.0\.0\.1:\d+)", web.log.read_text())
    assert found, "the local runtime started no PayPal sandbox"
    return found.group(1)


def _serve_paypal_from(browser, paypal_base: str) -> list[str]:
    """Answer the browser's requests to PayPal's sandbox site with the PayPal sandbox, and
    PayPal's checkout.js with the library the app itself bundles."""
    seen: list[str] = []

    def proxy(route) -> None:
        url = route.request.url
        seen.append(url)
        path = url.split("paypal.com", 1)[1]
        response = route.fetch(url=paypal_base + path)
        route.fulfill(response=response)

    def checkout_js(route) -> None:
        route.fulfill(status=200, path=str(CHECKOUT_JS), content_type="application/javascript")

    browser.page.route(re.compile(r"^https://www\.sandbox\.paypal\.com/(smart/button|checkoutnow)"),
                       proxy)
    browser.page.route(re.compile(r"^https://www\.paypalobjects\.com/api/checkout\.js"),
                       checkout_js)
    return seen


def _paid_event(web, token: str, name: str, price: int, **payment) -> tuple[str, dict]:
    """A published event taking `payment` (e.g. can-pay-by-paypal) with one paid ticket."""
    event = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": "2031-07-01T09:00:00+00:00",
        "ends-at": "2031-07-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "payment-country": "Germany", "location-name": "Town Hall", **payment}}}, token=token)
    assert event.status_code == 201, event.text
    identifier = event.json()["data"]["attributes"]["identifier"]
    ticket = web.api("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Supporter", "type": "paid", "price": price, "quantity": 20,
        "sales-starts-at": "2020-01-01T00:00:00+00:00",
        "sales-ends-at": "2031-06-30T00:00:00+00:00"},
        "relationships": {"event": {"data": {"type": "event", "id": identifier}}}}},
        token=token)
    assert ticket.status_code == 201, ticket.text
    return identifier, ticket.json()["data"]


def _event_with_paypal(web, token: str) -> tuple[str, dict]:
    return _paid_event(web, token, "PayPal Summit", 15, **{
        "can-pay-by-paypal": True, "payment-currency": "USD"})


def test_buy_a_paid_ticket_with_paypal(browser, web, new_account):
    if not CHECKOUT_JS.is_file():
        pytest.skip(f"paypal-checkout is not in the web app's sources at {CHECKOUT_JS}")
    paypal_base = _paypal_sandbox(web)
    _, _, organizer = new_account()
    identifier, ticket = _event_with_paypal(web, organizer)
    address, password, _ = new_account()
    seen = _serve_paypal_from(browser, paypal_base)
    page = browser.page
    browser.log_in(address, password)
    order_ident = _order_the_paid_ticket(browser, identifier, ticket["id"])
    buyer = web.login(address, password)
    browser.assert_no_api_errors()

    page.locator(".ui.radio.checkbox", has_text="Paypal").first.click()
    button = page.frame_locator(".paypal-button iframe").first.get_by_role(
        "button", name="PayPal (sandbox)")
    expect(button).to_be_visible(timeout=TIMEOUT_MS)
    assert any("/smart/button" in url for url in seen)
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert order["attributes"]["payment-mode"] == "paypal"
    browser.screenshot("paypal-button.png")

    button.click()
    page.wait_for_url(re.compile(rf"/orders/{order_ident}/view"), timeout=TIMEOUT_MS)
    browser.settle()
    expect(page.get_by_text("PayPal Summit").first).to_be_visible(timeout=TIMEOUT_MS)
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert (order["attributes"]["status"], order["attributes"]["paid-via"]) == (
        "completed", "paypal")
    browser.assert_no_api_errors()


# --- paid on site ------------------------------------------------------------------------------

def test_place_a_paid_order_to_pay_on_site(browser, web, new_account):
    _, _, organizer = new_account()
    identifier, ticket = _paid_event(web, organizer, "Door Sales Fair", 12, **{
        "can-pay-onsite": True, "onsite-details": "Pay at the door",
        "payment-currency": "EUR"})
    address, password, _ = new_account()
    page = browser.page
    browser.log_in(address, password)
    order_ident = _order_the_paid_ticket(browser, identifier, ticket["id"])
    buyer = web.login(address, password)

    page.locator(".ui.radio.checkbox", has_text="Onsite").first.click()
    browser.settle()
    browser.submit(page.get_by_role("button", name="Pay Now"),
                   re.compile(rf"/orders/{order_ident}/view"))
    browser.settle()
    expect(page.get_by_text("Door Sales Fair").first).to_be_visible(timeout=TIMEOUT_MS)
    order = web.api("GET", f"/v1/orders/{order_ident}", token=buyer).json()["data"]
    assert (order["attributes"]["status"], order["attributes"]["payment-mode"],
            order["attributes"]["amount"]) == ("placed", "onsite", 12)
    browser.assert_no_api_errors()
