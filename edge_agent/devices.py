"""Lab devices behind the allow-list: a deterministic simulator and the real PSLab.

Both take validated calls only (:class:`openevent.lab.grammar.LabCall`): name + checked
arguments. Nothing here parses user text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from openevent.lab.functions import FUNCTIONS


class DeviceError(Exception):
    """The device could not carry out a call (the message is shown to the user)."""


class Device(Protocol):
    """What the agent needs from a device."""

    def call(self, name: str, args: Mapping[str, Any]) -> Any:
        """Run one allow-listed function with checked arguments; return a JSON-able value."""
        ...

    def reset(self) -> None:
        """Switch every output off (waveforms, PWM, power supplies) and restore ranges."""
        ...

    def close(self) -> None: ...


# Simulated wiring, so examples give plausible answers without hardware:
#   SI1 → CH1 (else PV1 → CH1), SI2 → CH2 (else PV2 → CH2), PV3 → CH3, PV1 → VOL,
#   PCS through a 1 kΩ resistor → RES, 1 nF on CAP, SQ1 → LA1, SQ2 → LA2.
SIM_RESISTANCE_OHM = 1000.0
SIM_CAPACITANCE_F = 1.0e-9
SIM_TEMPERATURE_C = 31.5
SINE_AMPLITUDE_V = 3.3  # pslab's default sine amplitude
SIM_REARM_US = 1234.5  # dead time after a capture (not a whole period of common signals)


class SimulatedDevice:
    """A deterministic stand-in for a PSLab: same inputs → same outputs.

    Instantaneous readings of a sine use a virtual clock that advances 1 ms per reading,
    so they vary like a real signal but repeat exactly from one run to the next.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sine: dict[str, float | None] = {"SI1": None, "SI2": None}
        self.sqr: dict[str, tuple[float, float] | None] = {"SQ1": None, "SQ2": None}
        self.pv = {"pv1": 0.0, "pv2": 0.0, "pv3": 0.0}
        self.pcs_ma = 0.0
        self.ranges = {"CH1": 16.0, "CH2": 16.0}
        self._clock_us = 0.0

    def close(self) -> None:
        self.reset()

    def call(self, name: str, args: Mapping[str, Any]) -> Any:
        if name not in FUNCTIONS:
            raise DeviceError(f"{name} is not allowed")
        handler: Callable[..., Any] = getattr(self, "_" + name)
        return handler(**args)

    # -- signals ---------------------------------------------------------------

    def _signal(self, channel: str, t_us: float) -> float:
        """Voltage on ``channel`` at time ``t_us`` per the simulated wiring."""
        if channel in ("CH1", "CH2"):
            src = "SI1" if channel == "CH1" else "SI2"
            freq = self.sine[src]
            v = (SINE_AMPLITUDE_V * math.sin(2 * math.pi * freq * t_us * 1e-6)
                 if freq else self.pv["pv1" if channel == "CH1" else "pv2"])
            limit = self.ranges[channel]
            return max(-limit, min(limit, v))
        if channel == "CH3":
            return self.pv["pv3"]
        if channel == "VOL":
            return self.pv["pv1"]
        if channel == "RES":
            return self.pcs_ma * 1e-3 * SIM_RESISTANCE_OHM
        return 0.0  # MIC, CAP: quiet

    def _read(self, channel: str) -> float:
        self._clock_us += 1000.0
        return round(self._signal(channel, self._clock_us), 6)

    def _capture(self, channels: tuple[str, ...], samples: int, timegap: float
                 ) -> dict[str, list[float]]:
        start = self._clock_us
        t = [round(i * timegap, 6) for i in range(samples)]
        out: dict[str, list[float]] = {"t": t}
        for ch in channels:
            out[ch] = [round(self._signal(ch, start + ti), 6) for ti in t]
        # A real scope needs time to re-arm between captures, so consecutive captures (a free
        # running live trace) start at different phases of a signal; deterministic still.
        self._clock_us += samples * timegap + SIM_REARM_US
        return out

    # -- allow-listed functions (names mirror openevent.lab.functions) ---------------

    def _get_voltage(self, channel: str) -> float:
        return self._read(channel)

    def _get_average_voltage(self, channel: str, samples: int) -> float:
        return round(sum(self._read(channel) for _ in range(samples)) / samples, 6)

    def _get_resistance(self) -> float:
        return SIM_RESISTANCE_OHM

    def _get_capacitance(self) -> float:
        return SIM_CAPACITANCE_F

    def _get_temperature(self) -> float:
        return SIM_TEMPERATURE_C

    def _capture1(self, channel: str, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture((channel,), samples, timegap)

    def _capture2(self, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture(("CH1", "CH2"), samples, timegap)

    def _capture4(self, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture(("CH1", "CH2", "CH3", "MIC"), samples, timegap)

    def _select_range(self, channel: str, range: float) -> float:  # noqa: A002 - legacy name
        self.ranges[channel] = float(range)
        return float(range)

    def _set_sine1(self, frequency: float) -> float:
        self.sine["SI1"] = float(frequency)
        return float(frequency)

    def _set_sine2(self, frequency: float) -> float:
        self.sine["SI2"] = float(frequency)
        return float(frequency)

    def _set_sqr1(self, frequency: float, duty: float) -> float:
        self.sqr["SQ1"] = (float(frequency), float(duty))
        return float(frequency)

    def _set_sqr2(self, frequency: float, duty: float) -> float:
        self.sqr["SQ2"] = (float(frequency), float(duty))
        return float(frequency)

    def _set_pv1(self, voltage: float) -> float:
        return self._set_pv("pv1", voltage)

    def _set_pv2(self, voltage: float) -> float:
        return self._set_pv("pv2", voltage)

    def _set_pv3(self, voltage: float) -> float:
        return self._set_pv("pv3", voltage)

    def _set_pv(self, name: str, voltage: float) -> float:
        self.pv[name] = float(voltage)
        return float(voltage)

    def _set_pcs(self, current: float) -> float:
        self.pcs_ma = float(current)
        return float(current)

    def _get_pv1(self) -> float:
        return self.pv["pv1"]

    def _get_pv2(self) -> float:
        return self.pv["pv2"]

    def _get_pv3(self) -> float:
        return self.pv["pv3"]

    def _get_pcs(self) -> float:
        return self.pcs_ma

    def _get_outputs(self) -> dict[str, Any]:
        return {"SI1": self.sine["SI1"], "SI2": self.sine["SI2"],
                "SQ1": list(self.sqr["SQ1"]) if self.sqr["SQ1"] else None,
                "SQ2": list(self.sqr["SQ2"]) if self.sqr["SQ2"] else None,
                "PV1": self.pv["pv1"], "PV2": self.pv["pv2"], "PV3": self.pv["pv3"],
                "PCS": self.pcs_ma, "ranges": dict(self.ranges)}

    def _reset_outputs(self) -> dict[str, Any]:
        self.reset()
        return self._get_outputs()

    def _square(self, channel: str) -> tuple[float, float] | None:
        return {"LA1": self.sqr["SQ1"], "LA2": self.sqr["SQ2"]}.get(channel)

    def _get_freq(self, channel: str, timeout: float) -> float:
        sq = self._square(channel)
        return sq[0] if sq else 0.0

    def _get_duty_cycle(self, channel: str, timeout: float) -> float:
        sq = self._square(channel)
        return sq[1] if sq else 0.0

    def _get_states(self) -> dict[str, bool]:
        return {"LA1": False, "LA2": False, "LA3": False, "LA4": False}

    def _count_pulses(self, channel: str, interval: float) -> int:
        sq = self._square(channel)
        return int(sq[0] * interval) if sq else 0


class PslabDevice:
    """The real PSLab through the ``pslab`` 4.x package.

    ``connection`` must be an explicit, already connected ``pslab`` ConnectionHandler (for
    example ``pslab.connection.SerialHandler("/dev/ttyACM0")`` after ``connect()``): without
    one, pslab autodetects and tries a network address outside this machine. ``pslab`` is
    imported only here, lazily. Never constructed by tests or the default run.
    """

    def __init__(self, connection: Any, science_lab_factory: Callable[..., Any] | None = None
                 ) -> None:
        if connection is None:
            raise DeviceError("PslabDevice needs an explicit connection")
        if science_lab_factory is None:
            from pslab import ScienceLab

            science_lab_factory = ScienceLab
        self.lab = science_lab_factory(device=connection)

    def reset(self) -> None:
        ps = self.lab.power_supply
        ps.pv1, ps.pv2, ps.pv3, ps.pcs = 0.0, 0.0, 0.0, 0.0
        # pslab has no "off" for SI1/SI2; PWM outputs can be driven LOW.
        self.lab.pwm_generator.set_state(sq1=False, sq2=False)
        for channel in ("CH1", "CH2"):
            self.lab.oscilloscope.select_range(channel, 16)

    def close(self) -> None:
        try:
            self.reset()
        finally:
            self.lab.device.disconnect()

    def call(self, name: str, args: Mapping[str, Any]) -> Any:
        if name not in FUNCTIONS:
            raise DeviceError(f"{name} is not allowed")
        handler: Callable[..., Any] = getattr(self, "_" + name)
        return handler(**args)

    # Legacy PSLab names → pslab 4.x instruments.

    def _get_voltage(self, channel: str) -> float:
        return float(self.lab.multimeter.measure_voltage(channel))

    def _get_average_voltage(self, channel: str, samples: int) -> float:
        mm = self.lab.multimeter
        return sum(float(mm.measure_voltage(channel)) for _ in range(samples)) / samples

    def _get_resistance(self) -> float | None:
        value = float(self.lab.multimeter.measure_resistance())
        return value if math.isfinite(value) else None

    def _get_capacitance(self) -> float:
        return float(self.lab.multimeter.measure_capacitance())

    def _get_temperature(self) -> float:
        return float(self.lab.temperature)

    def _capture(self, channels: int | str, names: tuple[str, ...], samples: int,
                 timegap: float) -> dict[str, list[float]]:
        arrays = self.lab.oscilloscope.capture(channels, samples, timegap)
        out = {"t": [float(x) for x in arrays[0]]}
        for name, arr in zip(names, arrays[1:], strict=False):
            out[name] = [float(x) for x in arr]
        return out

    def _capture1(self, channel: str, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture(channel, (channel,), samples, timegap)

    def _capture2(self, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture(2, ("CH1", "CH2"), samples, timegap)

    def _capture4(self, samples: int, timegap: float) -> dict[str, list[float]]:
        return self._capture(4, ("CH1", "CH2", "CH3", "MIC"), samples, timegap)

    def _select_range(self, channel: str, range: float) -> float:  # noqa: A002 - legacy name
        self.lab.oscilloscope.select_range(channel, range)
        if not hasattr(self, "_ranges"):
            self._ranges = {"CH1": 16.0, "CH2": 16.0}
        self._ranges[channel] = float(range)
        return float(range)

    def _remember(self, key: str, value: Any) -> None:
        if not hasattr(self, "_driven"):
            self._driven = {"SI1": None, "SI2": None, "SQ1": None, "SQ2": None}
        self._driven[key] = value

    def _set_sine1(self, frequency: float) -> float:
        self._remember("SI1", float(frequency))
        return float(self.lab.waveform_generator.generate("SI1", frequency)[0])

    def _set_sine2(self, frequency: float) -> float:
        self._remember("SI2", float(frequency))
        return float(self.lab.waveform_generator.generate("SI2", frequency)[0])

    def _set_sqr1(self, frequency: float, duty: float) -> float:
        self.lab.pwm_generator.generate("SQ1", frequency, duty / 100)
        self._remember("SQ1", [float(frequency), float(duty)])
        return float(frequency)

    def _set_sqr2(self, frequency: float, duty: float) -> float:
        self.lab.pwm_generator.generate("SQ2", frequency, duty / 100)
        self._remember("SQ2", [float(frequency), float(duty)])
        return float(frequency)

    def _set_pv1(self, voltage: float) -> float:
        self.lab.power_supply.pv1 = voltage
        return float(voltage)

    def _set_pv2(self, voltage: float) -> float:
        self.lab.power_supply.pv2 = voltage
        return float(voltage)

    def _set_pv3(self, voltage: float) -> float:
        self.lab.power_supply.pv3 = voltage
        return float(voltage)

    def _set_pcs(self, current: float) -> float:
        self.lab.power_supply.pcs = current / 1000  # pslab takes amperes
        return float(current)

    def _get_pv1(self) -> float:
        return float(self.lab.power_supply.pv1)

    def _get_pv2(self) -> float:
        return float(self.lab.power_supply.pv2)

    def _get_pv3(self) -> float:
        return float(self.lab.power_supply.pv3)

    def _get_pcs(self) -> float:
        return float(self.lab.power_supply.pcs) * 1000

    def _get_freq(self, channel: str, timeout: float) -> float:
        return float(self.lab.logic_analyzer.measure_frequency(channel, timeout=timeout))

    def _get_duty_cycle(self, channel: str, timeout: float) -> float:
        _period, duty = self.lab.logic_analyzer.measure_duty_cycle(channel, timeout=timeout)
        return float(duty) * 100

    def _get_states(self) -> dict[str, bool]:
        return {k: bool(v) for k, v in self.lab.logic_analyzer.get_states().items()}

    def _count_pulses(self, channel: str, interval: float) -> int:
        return int(self.lab.logic_analyzer.count_pulses(channel, interval))

    # pslab cannot read back a waveform generator's state: the last settings made through this
    # object are remembered (every output goes through it, and the agent resets at start).
    def _get_outputs(self) -> dict[str, Any]:
        ps = self.lab.power_supply
        out = dict(getattr(self, "_driven", {"SI1": None, "SI2": None, "SQ1": None,
                                             "SQ2": None}))
        out.update({"PV1": float(ps.pv1), "PV2": float(ps.pv2), "PV3": float(ps.pv3),
                    "PCS": float(ps.pcs) * 1000,
                    "ranges": dict(getattr(self, "_ranges", {"CH1": 16.0, "CH2": 16.0}))})
        return out

    def _reset_outputs(self) -> dict[str, Any]:
        self.reset()
        self._driven = {"SI1": None, "SI2": None, "SQ1": None, "SQ2": None}
        self._ranges = {"CH1": 16.0, "CH2": 16.0}
        return self._get_outputs()
