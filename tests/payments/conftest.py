"""Fixtures: the Stripe and PayPal fakes on free local ports, gateways pointed at them, and a
receiver that records webhook deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openevent.payments.paypal_gateway import PayPalGateway, PayPalSettings
from openevent.payments.stripe_gateway import StripeGateway, StripeSettings
from openevent.sandboxes.http_server import FakeHTTPServer, FakeRequest, FakeResponse
from openevent.sandboxes.paypal import PayPalFake
from openevent.sandboxes.stripe import StripeFake


class WebhookReceiver(FakeHTTPServer):
    """Stands in for our webhook endpoint: records each delivery, answers 200."""

    def handle(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse.json(200, {"received": True})

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1/webhooks/test"


@pytest.fixture
def stripe_fake() -> Iterator[StripeFake]:
    with StripeFake() as fake:
        yield fake


@pytest.fixture
def stripe_settings(stripe_fake: StripeFake) -> StripeSettings:
    return StripeSettings(
        secret_key=stripe_fake.secret_key, webhook_secret=stripe_fake.webhook_secret,
        client_id=stripe_fake.client_id, api_base=stripe_fake.base_url,
        connect_base=stripe_fake.base_url, timeout=5, max_network_retries=0,
    )


@pytest.fixture
def stripe_gateway(stripe_settings: StripeSettings) -> StripeGateway:
    return StripeGateway(stripe_settings)


@pytest.fixture
def connected_account(stripe_fake: StripeFake, stripe_gateway: StripeGateway) -> str:
    """An organizer's connected account id, obtained through the OAuth exchange."""
    return stripe_gateway.exchange_connect_code(stripe_fake.create_connect_code()).stripe_user_id


@pytest.fixture
def paypal_fake() -> Iterator[PayPalFake]:
    with PayPalFake() as fake:
        yield fake


@pytest.fixture
def paypal_settings(paypal_fake: PayPalFake) -> PayPalSettings:
    return PayPalSettings(
        client_id=paypal_fake.client_id, client_secret=paypal_fake.client_secret,
        webhook_id=paypal_fake.webhook_id, api_base=paypal_fake.base_url,
        allowed_cert_origins=(paypal_fake.base_url,), timeout=5,
    )


@pytest.fixture
def paypal_gateway(paypal_settings: PayPalSettings) -> PayPalGateway:
    return PayPalGateway(paypal_settings)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server
