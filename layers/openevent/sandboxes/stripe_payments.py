"""The local Stripe's money objects: PaymentIntents, Charges and Refunds.

Guarantees: amounts are integers in minor units, checked as Stripe checks them
(`stripe_wire.payment_amount`, `not_tens`); a PaymentIntent is confirmed with one of
Stripe's test cards or PaymentMethods — success gives a succeeded Charge and the intent
`succeeded` (never confirmed again), a decline a failed Charge, the intent back to
`requires_payment_method` and a 402 `card_error`; a refund never exceeds what is captured
and unrefunded on the charge, and only the account that owns an object can see, confirm or
refund it. The events Stripe would send (`payment_intent.*`, `charge.*`) are queued in
`_outbox`, delivered by the server once its lock is released. Every method here runs under
the server's lock (its caller holds it).
"""

from __future__ import annotations

import re
import time
from typing import Any

from openevent.sandboxes.http_server import FakeResponse, random_id
from openevent.sandboxes.stripe_wire import (
    CARD_NUMBERS,
    TEST_PAYMENT_METHODS,
    TOKENS,
    api_error,
    as_int,
    missing_param,
    not_tens,
    payment_amount,
)


class StripePayments:
    """PaymentIntents, Charges and Refunds over the fake's object store (a mixin of
    `StripeFake`, which owns the store, the outbox and the lock)."""

    _objects: dict[str, tuple[str, dict[str, Any]]]  # id -> (account, object)
    _outbox: list[tuple[str, dict[str, Any], str]]  # (event type, object, account)
    webhook_url: str | None

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _store(self, account: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._objects[obj["id"]] = (account, obj)
        return obj

    def _create_payment_intent(self, params: dict[str, Any], account: str) -> FakeResponse:
        amount, refused = payment_amount(params)
        if refused is not None:
            return refused
        pi_id = random_id("pi_", 24)
        pi = self._store(account, {
            "id": pi_id, "object": "payment_intent", "amount": amount,
            "amount_received": 0, "automatic_payment_methods": {"enabled": True},
            "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{random_id('', 24)}",
            "confirmation_method": "automatic", "created": int(time.time()),
            "currency": str(params["currency"]).lower(),
            "description": params.get("description"), "last_payment_error": None,
            "latest_charge": None, "livemode": False,
            "metadata": params.get("metadata") or {}, "next_action": None,
            "payment_method": None, "payment_method_types": ["card"],
            "status": "requires_payment_method",
        })
        return FakeResponse.json(200, self._public(pi))

    def _confirm(self, pi_id: str, params: dict[str, Any], account: str,
                 return_url: Any) -> FakeResponse:
        """Confirm with a card (Payment Element: `payment_method_data[card][number]`) or a
        test PaymentMethod. Success: a succeeded Charge, the intent `succeeded`, and the
        `payment_intent.succeeded` + `charge.succeeded` events to the Connect endpoint.
        Decline: a failed Charge, the intent back to `requires_payment_method` with its
        `last_payment_error`, a 402 card_error, `payment_intent.payment_failed`."""
        stored = self._objects.get(pi_id)
        if stored is None or stored[0] != account or stored[1]["object"] != "payment_intent":
            return api_error(404, "invalid_request_error", f"No such payment_intent: '{pi_id}'",
                             "resource_missing", "intent")
        pi = stored[1]
        if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
            return api_error(400, "invalid_request_error",
                             f"This PaymentIntent's status is {pi['status']}, so it cannot be "
                             "confirmed.", "payment_intent_unexpected_state", None,
                             payment_intent=self._public(pi))
        data = params.get("payment_method_data") or {}
        number = re.sub(r"\D", "", str((data.get("card") or {}).get("number") or ""))
        method = str(params.get("payment_method") or "")
        token = CARD_NUMBERS.get(number) if number else TEST_PAYMENT_METHODS.get(method)
        if token is None:
            if number:
                return api_error(402, "card_error", "Your card number is incorrect.",
                                 "incorrect_number", "payment_method_data[card][number]")
            return missing_param("payment_method")
        card = TOKENS[token]
        charge = self._new_charge(account, pi["amount"], pi["currency"], pi["metadata"],
                                  pi.get("description"), card, pi_id)
        pi.update(payment_method=random_id("pm_", 24), latest_charge=charge["id"])
        if return_url:
            pi["return_url"] = return_url
        if "decline_code" in card:
            pi.update(status="requires_payment_method", last_payment_error={
                "type": "card_error", "code": card["code"], "decline_code":
                card["decline_code"], "message": card["message"], "charge": charge["id"]})
            self._outbox.append(("payment_intent.payment_failed", self._public(pi), account))
            return api_error(402, "card_error", card["message"], card["code"], None,
                             decline_code=card["decline_code"], charge=charge["id"],
                             payment_intent=self._public(pi))
        pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
        self._outbox.append(("payment_intent.succeeded", self._public(pi), account))
        self._outbox.append(("charge.succeeded", self._public(charge), account))
        return FakeResponse.json(200, self._public(pi))

    def _new_charge(self, account: str, amount: int, currency: str, metadata: dict[str, Any],
                    description: str | None, card: dict[str, str],
                    payment_intent: str | None) -> dict[str, Any]:
        declined = "decline_code" in card
        return self._store(account, {
            "id": random_id("ch_", 24), "object": "charge", "amount": amount,
            "amount_captured": 0 if declined else amount, "amount_refunded": 0,
            "balance_transaction": None if declined else random_id("txn_", 24),
            "captured": not declined, "created": int(time.time()), "currency": currency,
            "description": description, "failure_code": card.get("code"),
            "failure_message": card.get("message"), "livemode": False, "metadata": metadata,
            "outcome": {
                "network_status": "declined_by_network" if declined else "approved_by_network",
                "reason": card.get("decline_code"), "risk_level": "normal",
                "seller_message": ("The bank did not return any further details with this "
                                   "decline.") if declined else "Payment complete.",
                "type": "issuer_declined" if declined else "authorized"},
            "paid": not declined, "payment_intent": payment_intent, "refunded": False,
            "source": {"id": random_id("card_", 24), "object": "card", "brand": card["brand"],
                       "last4": card["last4"], "exp_month": 12, "exp_year": 2034},
            "status": "failed" if declined else "succeeded",
        })

    def _new_payment_intent(self, account: str, amount: int, currency: str,
                            metadata: dict[str, Any], description: str | None
                            ) -> dict[str, Any]:
        pi_id = random_id("pi_", 24)
        charge = self._new_charge(account, amount, currency, metadata, description,
                                  TOKENS["tok_visa"], pi_id)
        return self._store(account, {
            "id": pi_id, "object": "payment_intent", "amount": amount,
            "amount_received": amount, "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{random_id('', 24)}",
            "created": int(time.time()), "currency": currency, "description": description,
            "latest_charge": charge["id"], "livemode": False, "metadata": metadata,
            "payment_method_types": ["card"], "status": "succeeded",
        })

    def _create_charge(self, params: dict[str, Any], account: str) -> FakeResponse:
        amount, refused = payment_amount(params)
        if refused is not None:
            return refused
        token = str(params.get("source") or "")
        card = TOKENS.get(token)
        if card is None:
            return api_error(400, "invalid_request_error", f"No such token: '{token}'",
                             "resource_missing", "source")
        charge = self._new_charge(account, amount, str(params["currency"]).lower(),
                                  params.get("metadata") or {}, params.get("description"),
                                  card, None)
        if "decline_code" in card:
            return api_error(402, "card_error", card["message"], card["code"], "",
                             decline_code=card["decline_code"], charge=charge["id"])
        return FakeResponse.json(200, self._public(charge))

    def _create_refund(self, params: dict[str, Any], account: str) -> FakeResponse:
        charge_id, pi_id = params.get("charge"), params.get("payment_intent")
        if pi_id:
            found = self._objects.get(str(pi_id))
            if not found or found[0] != account or found[1]["object"] != "payment_intent":
                return api_error(404, "invalid_request_error", f"No such payment_intent: '{pi_id}'",
                                 "resource_missing", "payment_intent")
            charge_id = found[1].get("latest_charge")
            if found[1]["status"] != "succeeded" or not charge_id:
                return api_error(400, "invalid_request_error",
                                 "This PaymentIntent does not have a successful charge to refund.",
                                 "charge_not_refundable", "payment_intent")
        if not charge_id:
            return missing_param("charge")
        found = self._objects.get(str(charge_id))
        if not found or found[0] != account or found[1]["object"] != "charge":
            return api_error(404, "invalid_request_error", f"No such charge: '{charge_id}'",
                             "resource_missing", "charge")
        charge = found[1]
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if charge["status"] != "succeeded":
            return api_error(400, "invalid_request_error", f"Charge {charge_id} has failed.",
                             "charge_not_refundable", "charge")
        if remaining <= 0:
            return api_error(400, "invalid_request_error",
                             f"Charge {charge_id} has already been refunded.",
                             "charge_already_refunded")
        amount = as_int(params.get("amount")) if "amount" in params else remaining
        if amount is None or amount <= 0:
            return api_error(400, "invalid_request_error", "Invalid positive integer",
                             "parameter_invalid_integer", "amount")
        refused = not_tens(amount, str(charge["currency"]), "amount")
        if refused is not None:
            return refused
        if amount > remaining:
            return api_error(400, "invalid_request_error",
                             f"Refund amount ({amount}) is greater than unrefunded amount on "
                             f"charge ({remaining})", "amount_too_large", "amount")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        refund = self._store(account, {
            "id": random_id("re_", 24), "object": "refund", "amount": amount,
            "charge": charge["id"], "created": int(time.time()), "currency": charge["currency"],
            "metadata": {}, "payment_intent": charge.get("payment_intent"),
            "reason": params.get("reason"), "status": "succeeded",
        })
        if self.webhook_url:
            # Queued, sent by handle() once the lock is released: the receiver may call back.
            self._outbox.append(("charge.refunded", self._public(charge), account))
        return FakeResponse.json(200, self._public(refund))
