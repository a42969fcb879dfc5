"""Factories for ticket-document tests: small manifests with exact, known values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openevent.documents.manifest import (
    ManifestAttendee,
    ManifestEvent,
    ManifestPurchaser,
    OrderManifest,
)

ORDER_IDENTIFIER = "0b6c1a7e-6f0e-4b8e-9a52-3c1d2e4f5a6b"


def make_event(**overrides: object) -> ManifestEvent:
    fields: dict[str, object] = {
        "id": "12",
        "identifier": "3fa9c1d2",
        "name": "FOSSASIA Summit 2026",
        "starts_at": datetime(2026, 11, 14, 8, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 14, 17, 0, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "location_name": "Kulturbrauerei, Berlin",
    }
    fields.update(overrides)
    return ManifestEvent(**fields)  # type: ignore[arg-type]


def make_attendee(number: int, **overrides: object) -> ManifestAttendee:
    fields: dict[str, object] = {
        "id": str(100 + number),
        "firstname": ["Ada", "Grace", "Katherine"][number % 3],
        "lastname": ["Lovelace", "Hopper", "Johnson"][number % 3],
        "email": f"attendee{number}@example.org",
        "ticket_id": "3",
        "ticket_name": ["Early bird", "Student", "Supporter"][number % 3],
        "ticket_price": Decimal(["12.50", "0", "99.00"][number % 3]),
    }
    fields.update(overrides)
    return ManifestAttendee(**fields)  # type: ignore[arg-type]


def make_manifest(
    seats: int = 3,
    attendees: tuple[ManifestAttendee, ...] | None = None,
    event: ManifestEvent | None = None,
) -> OrderManifest:
    attendees = attendees or tuple(make_attendee(i) for i in range(seats))
    return OrderManifest(
        identifier=ORDER_IDENTIFIER,
        status="completed",
        amount=sum((a.ticket_price for a in attendees), Decimal("0")),
        currency="EUR",
        payment_mode="stripe",
        event=event or make_event(),
        purchaser=ManifestPurchaser(name="Ada Lovelace", email="ada@example.org"),
        attendees=attendees,
        completed_at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
    )


@pytest.fixture
def manifest_factory() -> Callable[..., OrderManifest]:
    return make_manifest
