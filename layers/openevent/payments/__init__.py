"""Payment provider boundary: Stripe and PayPal clients, webhook signature checks, money units.

Import-light on purpose: importing `openevent.payments` loads only the errors and money
helpers. The gateways (and the `stripe` SDK / `requests`) load on first use of
`openevent.payments.stripe_gateway` / `.paypal_gateway`, or of the names re-exported below.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    AlreadyRefunded,
    InvalidRequest,
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    ProviderAuthError,
    ProviderUnavailable,
    SignatureError,
)

_LAZY = {
    "StripeGateway": "stripe_gateway",
    "StripeSettings": "stripe_gateway",
    "PayPalGateway": "paypal_gateway",
    "PayPalSettings": "paypal_gateway",
}

__all__ = [
    "AlreadyRefunded",
    "InvalidRequest",
    "PaymentDeclined",
    "PaymentError",
    "PaymentNotFound",
    "ProviderAuthError",
    "ProviderUnavailable",
    "SignatureError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
