"""Errors raised by the payment gateways.

Messages are written by us from the provider's error type/code, never copied wholesale from
the provider (Stripe's 401 message quotes part of the API key), and never contain keys, tokens
or webhook secrets, so they are safe to log. `user_message` is safe to show a buyer.
"""

from __future__ import annotations

import re

# Credentials the providers hand out, by their documented prefixes, plus HTTP auth values.
_SECRET_PATTERNS = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9*]+"  # Stripe secret / restricted keys (incl. masked)
    r"|\bwhsec_[A-Za-z0-9+/=]+"  # Stripe webhook secrets
    r"|\brt_[A-Za-z0-9]+"  # Stripe Connect refresh tokens
    r"|\bA21AA[A-Za-z0-9_.\-]+"  # PayPal access tokens
    r"|\b(?:Bearer|Basic)\s+[A-Za-z0-9_.+/=\-]+",
)


def redact_secrets(text: str) -> str:
    """`text` with anything that looks like a provider key, token or auth header replaced."""
    return _SECRET_PATTERNS.sub("<redacted>", text)


class PaymentError(Exception):
    """A provider call failed. `code` is the provider's error code when it sent one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        http_status: int | None = None,
        user_message: str = "The payment could not be processed.",
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = code
        self.http_status = http_status
        self.user_message = user_message


class SignatureError(PaymentError):
    """A webhook's signature is missing, malformed, stale or does not verify."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message, provider=provider, code="signature_invalid")


class ProviderUnavailable(PaymentError):
    """The provider could not be reached, timed out, rate-limited us or answered 5xx; retryable."""


class ProviderAuthError(PaymentError):
    """Our credentials were rejected (bad API key, client secret, revoked Connect access)."""


class PaymentDeclined(PaymentError):
    """The buyer's card or funding instrument was declined; `user_message` says why."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        http_status: int | None = None,
        user_message: str = "The payment was declined.",
        decline_code: str | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, code=code, http_status=http_status,
            user_message=user_message,
        )
        self.decline_code = decline_code


class PaymentNotFound(PaymentError):
    """The provider has no such object (on this account)."""


class InvalidRequest(PaymentError):
    """The provider rejected the request as invalid (bad parameter, invalid OAuth code, ...)."""


class AlreadyRefunded(PaymentError):
    """The payment has already been refunded in full; callers may treat this as done."""
