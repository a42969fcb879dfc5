"""The order manifest: everything a ticket document or ticket mail needs, and nothing more.

When an order becomes ``completed`` or ``placed`` the orders group writes one manifest per
order to object storage; the S3-triggered renderer reads it back. The manifest is a frozen
snapshot, so a ticket shows what was true when the order completed, even if the event is
edited later. Pure standard library: the API handlers may build one without loading the
renderer.

JSON shape (``version`` 1)::

    {"version": 1, "identifier": "…", "status": "completed", "amount": "25.00",
     "currency": "EUR", "completed-at": "2026-11-02T10:00:00+00:00", "payment-mode": "stripe",
     "event": {"id": "12", "identifier": "3fa9c1d2", "name": "…", "starts-at": "…",
               "ends-at": "…", "timezone": "Europe/Berlin", "location-name": "…",
               "logo-url": null},
     "purchaser": {"name": "…", "email": "…"},
     "attendees": [{"id": "7", "firstname": "…", "lastname": "…", "email": "…",
                    "ticket-id": "3", "ticket-name": "…", "ticket-price": "12.50",
                    "ticket-code": "OE…"}]}

Money travels as a decimal string so no float rounding creeps in; datetimes as ISO-8601 with
offset (a naive datetime is taken as UTC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MANIFEST_VERSION = 1


def _aware(value: datetime) -> datetime:
    """Return ``value`` with a timezone, taking a naive datetime as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_datetime(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected an ISO-8601 datetime, got {value!r}")
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError as exc:
        raise ValueError(f"{name}: not an ISO-8601 datetime: {value!r}") from exc


def _parse_money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"{name}: expected a decimal amount, got {value!r}")
    try:
        # str() first: Decimal(0.1) would keep the float's binary noise.
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{name}: not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"{name}: not a finite amount: {value!r}")
    return amount.quantize(Decimal("0.01"))


def _money_str(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses normalise their own fields in __post_init__ this way.
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class ManifestEvent:
    """The event as printed on the ticket."""

    id: str
    identifier: str
    name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str  # IANA name, e.g. "Europe/Berlin"; dates are shown in it
    location_name: str | None = None
    logo_url: str | None = None

    def __post_init__(self) -> None:
        _set(self, "id", str(self.id))
        _set(self, "starts_at", _aware(self.starts_at))
        _set(self, "ends_at", _aware(self.ends_at))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"event timezone: unknown IANA zone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        """The event's timezone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with dasherized keys."""
        return {
            "id": self.id,
            "identifier": self.identifier,
            "name": self.name,
            "starts-at": self.starts_at.isoformat(),
            "ends-at": self.ends_at.isoformat(),
            "timezone": self.timezone,
            "location-name": self.location_name,
            "logo-url": self.logo_url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestEvent:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on bad input."""
        return cls(
            id=str(data["id"]),
            identifier=str(data["identifier"]),
            name=str(data["name"]),
            starts_at=_parse_datetime(data["starts-at"], "event starts-at"),
            ends_at=_parse_datetime(data["ends-at"], "event ends-at"),
            timezone=str(data["timezone"]),
            location_name=_opt_str(data.get("location-name")),
            logo_url=_opt_str(data.get("logo-url")),
        )


@dataclass(frozen=True, slots=True)
class ManifestPurchaser:
    """The user who placed the order; receives the order summary mail."""

    name: str
    email: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "email": self.email}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestPurchaser:
        """Inverse of :meth:`to_dict`."""
        return cls(name=str(data["name"]), email=str(data["email"]))


@dataclass(frozen=True, slots=True)
class ManifestAttendee:
    """One seat: the attendee who holds it and the ticket it is for."""

    id: str
    firstname: str
    lastname: str
    email: str
    ticket_id: str
    ticket_name: str
    ticket_price: Decimal
    # The signed ticket code (openevent.signing.codes) the QR code carries; manifests written
    # before signed tickets have none and fall back to the old clear text.
    ticket_code: str | None = None

    def __post_init__(self) -> None:
        _set(self, "id", str(self.id))
        _set(self, "ticket_id", str(self.ticket_id))
        _set(self, "ticket_price", _parse_money(self.ticket_price, "ticket-price"))

    @property
    def name(self) -> str:
        """Full name as printed ("Ada Lovelace")."""
        return " ".join(part for part in (self.firstname, self.lastname) if part)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with dasherized keys."""
        return {
            "id": self.id,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": self.email,
            "ticket-id": self.ticket_id,
            "ticket-name": self.ticket_name,
            "ticket-price": _money_str(self.ticket_price),
            **({"ticket-code": self.ticket_code} if self.ticket_code else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestAttendee:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            firstname=str(data.get("firstname") or ""),
            lastname=str(data.get("lastname") or ""),
            email=str(data.get("email") or ""),
            ticket_id=str(data["ticket-id"]),
            ticket_name=str(data["ticket-name"]),
            ticket_price=_parse_money(data["ticket-price"], "ticket-price"),
            ticket_code=_opt_str(data.get("ticket-code")),
        )


@dataclass(frozen=True, slots=True)
class OrderManifest:
    """A completed (or placed) order, frozen for rendering tickets and mails."""

    identifier: str
    status: str
    amount: Decimal
    currency: str
    payment_mode: str
    event: ManifestEvent
    purchaser: ManifestPurchaser
    attendees: tuple[ManifestAttendee, ...] = field(default_factory=tuple)
    completed_at: datetime | None = None

    def __post_init__(self) -> None:
        _set(self, "amount", _parse_money(self.amount, "amount"))
        _set(self, "currency", self.currency.upper())
        _set(self, "attendees", tuple(self.attendees))
        if self.completed_at is not None:
            _set(self, "completed_at", _aware(self.completed_at))
        ids = [attendee.id for attendee in self.attendees]
        if len(set(ids)) != len(ids):
            raise ValueError("attendees: duplicate attendee id")

    def attendee(self, attendee_id: str) -> ManifestAttendee:
        """The attendee with this id; ``KeyError`` if the order has none such."""
        for attendee in self.attendees:
            if attendee.id == str(attendee_id):
                return attendee
        raise KeyError(attendee_id)

    def qr_payload(self, attendee: ManifestAttendee) -> str:
        """What the attendee's QR code encodes: the signed ticket code (openevent.checkin);
        ``<order identifier>-<attendee id>`` for a manifest written before signed tickets."""
        return attendee.ticket_code or f"{self.identifier}-{attendee.id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with dasherized keys (see the module docstring)."""
        return {
            "version": MANIFEST_VERSION,
            "identifier": self.identifier,
            "status": self.status,
            "amount": _money_str(self.amount),
            "currency": self.currency,
            "completed-at": None if self.completed_at is None else self.completed_at.isoformat(),
            "payment-mode": self.payment_mode,
            "event": self.event.to_dict(),
            "purchaser": self.purchaser.to_dict(),
            "attendees": [attendee.to_dict() for attendee in self.attendees],
        }

    def to_json(self) -> str:
        """Serialise to the JSON stored next to the order's documents."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderManifest:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed manifest."""
        version = data.get("version", MANIFEST_VERSION)
        if version != MANIFEST_VERSION:
            raise ValueError(f"manifest version {version!r} is not supported")
        try:
            completed = data.get("completed-at")
            return cls(
                identifier=str(data["identifier"]),
                status=str(data["status"]),
                amount=_parse_money(data["amount"], "amount"),
                currency=str(data["currency"]),
                payment_mode=str(data["payment-mode"]),
                completed_at=None
                if completed is None
                else _parse_datetime(completed, "completed-at"),
                event=ManifestEvent.from_dict(data["event"]),
                purchaser=ManifestPurchaser.from_dict(data["purchaser"]),
                attendees=tuple(ManifestAttendee.from_dict(a) for a in data["attendees"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed order manifest: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> OrderManifest:
        """Parse a manifest written by :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("malformed order manifest: not a JSON object")
        return cls.from_dict(data)
