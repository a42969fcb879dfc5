"""Initial modules from OPENEVENT_MODULES at first start (API.md §3)."""

import pytest


def test_first_start_turns_on_the_listed_modules(api):
    from openevent.platform.settings import seed_modules

    seed_modules("ticket, payment")
    attrs = api.get("/v1/modules").json()["data"]["attributes"]
    assert attrs == {"ticket-include": True, "payment-include": True,
                     "donation-include": False}


def test_a_later_start_keeps_what_the_admin_chose(api):
    from openevent.platform.settings import seed_modules, update_modules

    seed_modules("ticket,payment,donation")
    update_modules({"payment_include": False})
    seed_modules("ticket,payment,donation")
    assert api.get("/v1/modules").json()["data"]["attributes"]["payment-include"] is False


def test_no_variable_keeps_the_contract_default_off(api):
    from openevent.platform.settings import seed_modules

    seed_modules(None)
    assert set(api.get("/v1/modules").json()["data"]["attributes"].values()) == {False}


def test_unknown_module_name_is_a_configuration_error(aws):
    from openevent.platform.settings import seed_modules

    with pytest.raises(ValueError, match="tickets"):
        seed_modules("tickets")
