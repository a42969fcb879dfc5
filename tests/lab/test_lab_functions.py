"""The allow-list as GET /v1/lab/functions shows it."""

import json

from openevent.lab.functions import FUNCTIONS, describe


def test_allow_list_has_the_legacy_functions():
    assert len(FUNCTIONS) == 27
    assert {"get_voltage", "get_resistance", "capture1", "set_sine1", "set_pv1",
            "count_pulses", "get_outputs", "reset_outputs"} <= set(FUNCTIONS)


def test_nothing_dangerous_is_allow_listed():
    dangerous = {"reset", "enter_bootloader", "read_flash", "write_flash", "i2c", "spi", "uart",
                 "_read_data_address", "_write_data_address", "eval", "exec"}
    assert dangerous.isdisjoint(FUNCTIONS)


def test_describe_is_json_and_shows_parameters():
    entry = next(f for f in describe() if f["name"] == "set_sqr1")
    assert json.loads(json.dumps(entry)) == entry
    assert entry["drives-output"] is True
    assert entry["signature"] == "set_sqr1(frequency, duty=50)"
    assert entry["parameters"][1] == {"name": "duty", "type": "float", "doc": "Duty cycle",
                                      "required": False, "minimum": 1.0, "maximum": 99.0,
                                      "default": 50, "unit": "%"}


def test_read_only_functions_do_not_drive_outputs():
    assert {f["name"] for f in describe() if f["drives-output"]} == {
        "select_range", "set_sine1", "set_sine2", "set_sqr1", "set_sqr2", "set_pv1",
        "set_pv2", "set_pv3", "set_pcs", "reset_outputs"}
