"""Payment provider sandboxes for the local runtime.

Stripe and PayPal are outside this machine, so the local run starts the sandboxes of
`openevent.sandboxes` (the tests use the same servers): small HTTP servers speaking each
provider's real wire format, with a hosted checkout / approval page and real signed webhooks
back to the API. The production gateways talk to them through their configurable base URLs,
unchanged.

They are used only while the system settings hold no real keys: the runtime fills empty
settings with the sandbox keys (marked by `SANDBOX_SECRET`) and never overwrites real ones.
The web app's Stripe step loads Stripe.js from https://js.stripe.com/v3; with the Stripe
sandbox the local gateway preloads the sandbox's stand-in in the app's page instead
(`openevent.local.static.with_preloaded_stripe_js`; `OPENEVENT_PRELOAD_STRIPE_JS=0` turns that
off, as the browser tests do to answer the app's own request for Stripe.js at its URL).
The fakes keep their state in memory: connected accounts and open checkouts start empty after
a restart (connect Stripe again from the event's settings).
"""

from __future__ import annotations

import os
from typing import Any

from openevent.local.static import PRELOAD_ENV

SANDBOX_SECRET = "sk_test_openevent_local_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_openevent_local_sandbox"
SANDBOX_PAYPAL_CLIENT = "openevent-local-sandbox-client"
SANDBOX_PAYPAL_SECRET = "openevent-local-sandbox-secret"
SANDBOX_PAYPAL_WEBHOOK = "WH-OPENEVENT-LOCAL"


def start_sandboxes(api_base: str) -> tuple[list[Any], str]:
    """Start both fakes and point the gateways at them; returns (servers, banner line)."""
    from openevent.platform.settings import get_system_settings, update_system_settings
    from openevent.sandboxes.paypal import PayPalFake
    from openevent.sandboxes.stripe import StripeFake
    from openevent.settings import get_settings

    settings = get_system_settings()
    real_stripe = settings.stripe_secret_key not in (None, "", SANDBOX_SECRET)
    real_paypal = settings.paypal_client not in (None, "", SANDBOX_PAYPAL_CLIENT)
    servers: list[Any] = []
    names = []
    values: dict[str, Any] = {}
    if not real_stripe:
        stripe = StripeFake(secret_key=SANDBOX_SECRET, webhook_secret=SANDBOX_WEBHOOK_SECRET,
                            webhook_url=f"{api_base}/v1/webhooks/stripe").start()
        servers.append(stripe)
        os.environ["STRIPE_API_BASE"] = os.environ["STRIPE_CONNECT_BASE"] = stripe.base_url
        if os.environ.get(PRELOAD_ENV) != "0":  # "0": leave the app's own Stripe.js URL
            os.environ[PRELOAD_ENV] = f"{stripe.base_url}/v3"
        values.update(stripe_secret_key=SANDBOX_SECRET,
                      stripe_webhook_secret=SANDBOX_WEBHOOK_SECRET,
                      stripe_client_id=stripe.client_id,
                      stripe_publishable_key=stripe.publishable_key, is_stripe_activated=True)
        names.append(f"Stripe {stripe.base_url}")
    if not real_paypal:
        paypal = PayPalFake(client_id=SANDBOX_PAYPAL_CLIENT, client_secret=SANDBOX_PAYPAL_SECRET,
                            webhook_id=SANDBOX_PAYPAL_WEBHOOK,
                            webhook_url=f"{api_base}/v1/webhooks/paypal").start()
        servers.append(paypal)
        os.environ["PAYPAL_API_BASE"] = paypal.base_url
        values.update(paypal_client=SANDBOX_PAYPAL_CLIENT, paypal_secret=SANDBOX_PAYPAL_SECRET,
                      paypal_webhook_id=SANDBOX_PAYPAL_WEBHOOK, paypal_mode="sandbox",
                      is_paypal_activated=True)
        names.append(f"PayPal {paypal.base_url}")
    if values:
        update_system_settings(values)
    get_settings.cache_clear()
    if not names:
        return servers, "real provider keys configured (no sandbox)"
    return servers, "sandboxes (local fakes): " + ", ".join(names)
