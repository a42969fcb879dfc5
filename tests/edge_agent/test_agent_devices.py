"""The simulated device: deterministic, plausible readings."""

import math

import pytest

from edge_agent.devices import PslabDevice, SimulatedDevice


def test_power_supply_reads_back_what_was_set():
    dev = SimulatedDevice()
    assert dev.call("set_pv1", {"voltage": 2.5}) == 2.5
    assert dev.call("get_pv1", {}) == 2.5
    assert dev.call("get_voltage", {"channel": "VOL"}) == 2.5


def test_ch1_sees_pv1_without_a_sine():
    dev = SimulatedDevice()
    dev.call("set_pv1", {"voltage": -1.5})
    assert dev.call("get_voltage", {"channel": "CH1"}) == -1.5


def test_capture_shows_the_sine_set_on_si1():
    dev = SimulatedDevice()
    dev.call("set_sine1", {"frequency": 1000})
    data = dev.call("capture1", {"channel": "CH1", "samples": 1000, "timegap": 1})
    assert data["t"][:3] == [0.0, 1.0, 2.0]
    assert data["CH1"][250] == pytest.approx(3.3 * math.sin(2 * math.pi * 1000 * 250e-6),
                                             abs=1e-5)
    assert max(data["CH1"]) == pytest.approx(3.3, abs=1e-3)


def test_selected_range_clips_the_signal():
    dev = SimulatedDevice()
    dev.call("set_sine1", {"frequency": 1000})
    dev.call("select_range", {"channel": "CH1", "range": 1})
    data = dev.call("capture1", {"channel": "CH1", "samples": 1000, "timegap": 1})
    assert max(data["CH1"]) == 1.0


def test_readings_are_deterministic():
    def session():
        dev = SimulatedDevice()
        dev.call("set_sine2", {"frequency": 50})
        return [dev.call("get_voltage", {"channel": "CH2"}) for _ in range(5)]

    assert session() == session()


def test_square_wave_is_measured_on_la1():
    dev = SimulatedDevice()
    dev.call("set_sqr1", {"frequency": 500, "duty": 25})
    assert dev.call("get_freq", {"channel": "LA1", "timeout": 1}) == 500.0
    assert dev.call("get_duty_cycle", {"channel": "LA1", "timeout": 1}) == 25.0
    assert dev.call("count_pulses", {"channel": "LA1", "interval": 0.5}) == 250


def test_reset_turns_outputs_off():
    dev = SimulatedDevice()
    dev.call("set_pv2", {"voltage": 3})
    dev.call("set_sine1", {"frequency": 10})
    dev.reset()
    assert (dev.call("get_pv2", {}), dev.sine["SI1"]) == (0.0, None)


def test_fixed_readings_are_plausible():
    dev = SimulatedDevice()
    assert (dev.call("get_resistance", {}), dev.call("get_capacitance", {}),
            dev.call("get_temperature", {})) == (1000.0, 1e-9, 31.5)


class FakeScienceLab:
    """Records what PslabDevice asks of pslab's instruments (no pslab import, no hardware)."""

    def __init__(self, device):
        self.device = device
        outer = self

        class PowerSupply:
            pv1 = pv2 = pv3 = pcs = 0.0

        class Multimeter:
            def measure_voltage(self, channel):
                outer.asked = ("measure_voltage", channel)
                return 1.25

            def measure_resistance(self):
                return math.inf

        self.power_supply = PowerSupply()
        self.multimeter = Multimeter()


def test_pslab_device_maps_legacy_names_onto_instruments():
    dev = PslabDevice(connection=object(), science_lab_factory=FakeScienceLab)
    assert dev.call("get_voltage", {"channel": "RES"}) == 1.25
    assert dev.lab.asked == ("measure_voltage", "RES")
    assert dev.call("get_resistance", {}) is None
    dev.call("set_pcs", {"current": 2.0})
    assert dev.lab.power_supply.pcs == 0.002


def test_pslab_device_needs_an_explicit_connection():
    from edge_agent.devices import DeviceError

    with pytest.raises(DeviceError):
        PslabDevice(connection=None, science_lab_factory=FakeScienceLab)
