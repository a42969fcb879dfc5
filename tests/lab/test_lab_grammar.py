"""The function-string grammar: one allow-listed call, literal checked arguments, no eval."""

import pytest
from openevent.lab.grammar import MAX_LENGTH, FunctionStringError, LabCall, parse_call

from tests.lab.hostile import HOSTILE_FUNCTION_STRINGS as HOSTILE


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_string_is_refused(text):
    with pytest.raises(FunctionStringError):
        parse_call(text)


def test_string_longer_than_limit_is_refused():
    text = "get_voltage('" + "C" * MAX_LENGTH + "')"
    with pytest.raises(FunctionStringError) as exc:
        parse_call(text)
    assert exc.value.detail == f"the function string is longer than {MAX_LENGTH} characters"


def test_deeply_nested_string_is_refused_without_crashing():
    with pytest.raises(FunctionStringError):
        parse_call("(" * 99 + "1" + ")" * 99)


def test_non_string_input_is_refused():
    with pytest.raises(FunctionStringError):
        parse_call(b"get_voltage('CH1')")


def test_unknown_function_is_refused_with_its_name():
    with pytest.raises(FunctionStringError) as exc:
        parse_call("reset()")
    assert exc.value.detail == "reset is not an allowed lab function"


def test_simple_call_binds_argument_by_position():
    assert parse_call("get_voltage('CH1')") == LabCall("get_voltage", {"channel": "CH1"})


def test_default_fills_missing_optional_argument():
    assert parse_call("get_average_voltage('CH2')").args == {"channel": "CH2", "samples": 16}


def test_keyword_argument_is_bound():
    call = parse_call("set_sqr1(1000, duty=25)")
    assert call.args == {"frequency": 1000, "duty": 25}


def test_negative_number_is_a_literal():
    assert parse_call("set_pv1(-2.5)").args == {"voltage": -2.5}


@pytest.mark.parametrize("legacy,current", [("SEN", "RES"), ("AN8", "VOL")])
def test_legacy_channel_name_is_rewritten(legacy, current):
    assert parse_call(f"get_voltage('{legacy}')").args == {"channel": current}


@pytest.mark.parametrize("text,detail", [
    ("set_pv1(5.01)", "set_pv1() argument 'voltage' must be at most 5"),
    ("set_pv1(-6)", "set_pv1() argument 'voltage' must be at least -5"),
    ("set_pv3(-0.1)", "set_pv3() argument 'voltage' must be at least 0"),
    ("set_pcs(3.4)", "set_pcs() argument 'current' must be at most 3.3"),
    ("set_sine1(5001)", "set_sine1() argument 'frequency' must be at most 5000"),
    ("set_sqr1(1000, duty=100)", "set_sqr1() argument 'duty' must be at most 99"),
    ("capture1('CH1', 2001, 1)", "capture1() argument 'samples' must be at most 2000"),
    ("capture4(1001, 1)", "capture4() argument 'samples' must be at most 1000"),
    ("get_average_voltage('CH1', 0)",
     "get_average_voltage() argument 'samples' must be at least 1"),
    ("get_freq('LA1', 6)", "get_freq() argument 'timeout' must be at most 5"),
    ("count_pulses('LA1', 10)", "count_pulses() argument 'interval' must be at most 5"),
])
def test_out_of_range_value_is_refused_not_clamped(text, detail):
    with pytest.raises(FunctionStringError) as exc:
        parse_call(text)
    assert exc.value.detail == detail


@pytest.mark.parametrize("text,detail", [
    ("get_voltage(1)", "get_voltage() argument 'channel' must be a string"),
    ("get_voltage('CH9')", "get_voltage() argument 'channel' must be one of 'CH1', 'CH2', "
                           "'CH3', 'MIC', 'CAP', 'RES', 'VOL'"),
    ("set_pv1('5')", "set_pv1() argument 'voltage' must be a number"),
    ("set_pv1(True)", "set_pv1() argument 'voltage' must be a number"),
    ("set_pv1(None)", "set_pv1() argument 'voltage' must be a number"),
    ("set_pv1(1j)", "set_pv1() argument 'voltage' must be a number"),
    ("set_pv1(1e999)", "set_pv1() argument 'voltage' must be a finite number"),
    ("capture1('CH1', 100.0, 1)", "capture1() argument 'samples' must be a whole number"),
    ("get_voltage(b'CH1')", "get_voltage() argument 'channel' must be a string"),
    ("select_range('CH1', 5)", "select_range() argument 'range' must be one of 16, 8, 4, 3, "
                               "2, 1.5, 1, 0.5"),
])
def test_wrong_type_or_choice_is_refused(text, detail):
    with pytest.raises(FunctionStringError) as exc:
        parse_call(text)
    assert exc.value.detail == detail


@pytest.mark.parametrize("text,detail", [
    ("get_voltage()", "get_voltage() is missing argument 'channel'"),
    ("get_voltage('CH1', 'CH2')", "get_voltage() takes at most 1 argument(s), got 2"),
    ("get_voltage('CH1', channel='CH2')", "get_voltage() got argument 'channel' twice"),
    ("get_voltage(chan='CH1')", "get_voltage() has no argument 'chan'"),
])
def test_bad_binding_is_refused(text, detail):
    with pytest.raises(FunctionStringError) as exc:
        parse_call(text)
    assert exc.value.detail == detail


def test_canonical_text_parses_back_to_the_same_call():
    call = parse_call("set_sqr2(2000.5, 10)")
    assert call.to_text() == "set_sqr2(frequency=2000.5, duty=10)"
    assert parse_call(call.to_text()) == call


def test_wire_form_round_trips():
    call = parse_call("capture1('CH2', 100, 2)")
    assert call.to_wire() == {"name": "capture1",
                              "args": {"channel": "CH2", "samples": 100, "timegap": 2}}
    assert LabCall.from_wire(call.to_wire()) == call


def test_wire_form_is_checked_again():
    with pytest.raises(FunctionStringError) as exc:
        LabCall.from_wire({"name": "set_pv1", "args": {"voltage": 99}})
    assert exc.value.detail == "set_pv1() argument 'voltage' must be at most 5"
