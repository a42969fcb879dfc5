from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import ORDER_IDENTIFIER, make_attendee, make_event, make_manifest
from openevent.documents.manifest import OrderManifest


def test_manifest_survives_a_json_round_trip():
    manifest = make_manifest(3)
    assert OrderManifest.from_json(manifest.to_json()) == manifest


def test_manifest_json_carries_money_as_decimal_strings_and_dasherized_keys():
    data = make_manifest(1).to_dict()
    assert data["amount"] == "12.50"
    assert data["attendees"][0]["ticket-price"] == "12.50"
    assert data["payment-mode"] == "stripe"
    assert data["event"]["starts-at"] == "2026-11-14T08:00:00+00:00"
    assert data["version"] == 1


def test_manifest_accepts_json_numbers_for_money():
    data = make_manifest(1).to_dict()
    data["amount"] = 12.5
    data["attendees"][0]["ticket-price"] = 12.5
    manifest = OrderManifest.from_dict(data)
    assert manifest.amount == Decimal("12.50")
    assert manifest.attendees[0].ticket_price == Decimal("12.50")


def test_naive_datetimes_are_taken_as_utc():
    event = make_event(starts_at=datetime(2026, 11, 14, 8, 0))
    assert event.starts_at == datetime(2026, 11, 14, 8, 0, tzinfo=UTC)


def test_offset_datetimes_keep_their_instant():
    plus_two = timezone(timedelta(hours=2))
    data = make_manifest(1).to_dict()
    data["completed-at"] = "2026-11-02T12:00:00+02:00"
    manifest = OrderManifest.from_dict(data)
    assert manifest.completed_at == datetime(2026, 11, 2, 12, 0, tzinfo=plus_two)
    assert manifest.completed_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_unknown_timezone_is_rejected():
    with pytest.raises(ValueError, match="unknown IANA zone 'Mars/Olympus'"):
        make_event(timezone="Mars/Olympus")


def test_duplicate_attendee_ids_are_rejected():
    with pytest.raises(ValueError, match="duplicate attendee id"):
        make_manifest(attendees=(make_attendee(0), make_attendee(0)))


def test_other_manifest_versions_are_rejected():
    data = make_manifest(1).to_dict()
    data["version"] = 2
    with pytest.raises(ValueError, match="manifest version 2 is not supported"):
        OrderManifest.from_dict(data)


def test_missing_fields_raise_value_error():
    data = make_manifest(1).to_dict()
    del data["event"]
    with pytest.raises(ValueError, match="malformed order manifest"):
        OrderManifest.from_dict(data)


def test_qr_payload_is_order_identifier_dash_attendee_id():
    manifest = make_manifest(2)
    assert manifest.qr_payload(manifest.attendees[1]) == f"{ORDER_IDENTIFIER}-101"


def test_attendee_lookup_by_id():
    manifest = make_manifest(3)
    assert manifest.attendee("102").firstname == "Katherine"
    with pytest.raises(KeyError):
        manifest.attendee("999")
