"""The parts of infra/ that need no AWS account: tables from models, routes, access map."""

from openevent.models.base import TABLE_PREFIX
from openevent.routing import GROUPS, cloudfront_patterns

from infra.tables import GROUP_TABLES, table_specs


def test_every_model_becomes_a_table_with_its_keys_and_indexes():
    specs = {s.name: s for s in table_specs(TABLE_PREFIX)}
    assert specs["users"].hash_key == ("id", "N")
    assert {i["name"] for i in specs["users"].indexes} == {"email-index", "kind-index",
                                                          "super-admin-index"}
    assert specs["event-roles"].range_key == ("user_id", "N")
    assert specs["events"].indexes and all(i["hash_key"] for i in specs["events"].indexes)


def test_every_table_is_granted_to_some_group_and_grants_name_real_tables():
    tables = {s.name for s in table_specs(TABLE_PREFIX)}
    granted = {name for access in GROUP_TABLES.values() for name in access}
    assert tables <= granted, f"tables no group may use: {tables - granted}"
    assert granted <= tables, f"grants for missing tables: {granted - tables}"
    assert set(GROUP_TABLES) == {*GROUPS, "renderer"}


def test_cloudfront_patterns_cover_every_group_and_keep_order():
    patterns = cloudfront_patterns()
    assert {g for _, g in patterns} == set(GROUPS)
    assert patterns[-1] == ("/v1/*", "events")
    assert ("/v1/events/*/orders", "orders") in patterns


def test_mail_sender_is_an_address_or_a_domain_sending_as_no_reply():
    import pytest

    from infra.mail import mail_sender

    assert mail_sender("tickets@example.org").address == "tickets@example.org"
    assert not mail_sender("tickets@example.org").is_domain
    domain = mail_sender("Example.org")
    assert (domain.identity, domain.is_domain, domain.address) == (
        "example.org", True, "no-reply@example.org")
    for bad in ("", "example", "@example.org", "a b@example.org", "x@", "http://example.org",
                "a..b@example.org"):
        with pytest.raises(ValueError, match="neither an email address nor a domain"):
            mail_sender(bad)
