"""The allow-list of lab device functions: names, parameters, limits and docs.

This table is the single source of truth for what a function string may call. The grammar
checks calls against it, the edge agent maps its names onto the device, and
``GET /v1/lab/functions`` shows :func:`describe`. Names follow the legacy PSLab library
(``get_voltage('CH1')``), which is what users of the original remote lab know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ParamType = Literal["str", "int", "float"]


class _Required:
    """Marker for a parameter without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

#: Analog inputs readable by the multimeter / oscilloscope.
ANALOG_CHANNELS = ("CH1", "CH2", "CH3", "MIC", "CAP", "RES", "VOL")
#: Oscilloscope channels that capture1 accepts.
SCOPE_CHANNELS = ("CH1", "CH2", "CH3", "MIC")
#: Channels with a programmable gain.
RANGE_CHANNELS = ("CH1", "CH2")
#: Gain ranges of CH1/CH2 in volts (±).
VOLTAGE_RANGES = (16, 8, 4, 3, 2, 1.5, 1, 0.5)
#: Logic analyzer inputs.
DIGITAL_CHANNELS = ("LA1", "LA2", "LA3", "LA4")
#: Legacy channel names of the old PSLab library, accepted and rewritten.
CHANNEL_ALIASES = {"SEN": "RES", "AN8": "VOL"}


@dataclass(frozen=True)
class Param:
    """One parameter: its type, its allowed choices or closed numeric range, its default."""

    name: str
    type: ParamType
    doc: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = REQUIRED
    unit: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "doc": self.doc,
                               "required": self.required}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if not self.required:
            out["default"] = self.default
        if self.unit:
            out["unit"] = self.unit
        return out


@dataclass(frozen=True)
class Function:
    """One allow-listed device function."""

    name: str
    doc: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    #: True if the call changes an output (waveform, power supply, gain); False if it only reads.
    drives_output: bool = False
    #: What the result is, for the docs.
    returns: str = "number"

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "doc": self.doc,
            "signature": self.signature(),
            "parameters": [p.describe() for p in self.params],
            "drives-output": self.drives_output,
            "returns": self.returns,
        }

    def signature(self) -> str:
        parts = [p.name if p.required else f"{p.name}={p.default!r}" for p in self.params]
        return f"{self.name}({', '.join(parts)})"


def _analog(doc: str = "Analog input") -> Param:
    return Param("channel", "str", doc + " (legacy SEN = RES, AN8 = VOL)", choices=ANALOG_CHANNELS)


def _digital(default: Any = "LA1") -> Param:
    return Param("channel", "str", "Logic analyzer input", choices=DIGITAL_CHANNELS,
                 default=default)


def _samples(maximum: int) -> Param:
    return Param("samples", "int", "Number of samples per channel", minimum=10, maximum=maximum)


# 0.5 µs is the fastest sampling of the PSLab v5/v6; 1000 µs × 2000 samples keeps a capture ≤ 2 s.
_TIMEGAP = Param("timegap", "float", "Time between samples", minimum=0.5, maximum=1000.0,
                 unit="µs")


def _pv(name: str, low: float, high: float) -> tuple[Function, Function]:
    setter = Function(
        f"set_{name}",
        f"Set the programmable voltage source {name.upper()} ({low} to {high} V).",
        (Param("voltage", "float", "Output voltage", minimum=low, maximum=high, unit="V"),),
        drives_output=True, returns="the voltage set, in volts",
    )
    getter = Function(f"get_{name}", f"Read back the voltage set on {name.upper()}, in volts.",
                      returns="volts")
    return setter, getter


_SET_PV1, _GET_PV1 = _pv("pv1", -5.0, 5.0)
_SET_PV2, _GET_PV2 = _pv("pv2", -3.3, 3.3)
_SET_PV3, _GET_PV3 = _pv("pv3", 0.0, 3.3)

_FUNCTIONS: tuple[Function, ...] = (
    Function("get_voltage", "Measure the voltage on an analog input, in volts.",
             (_analog(),), returns="volts"),
    Function("get_average_voltage", "Average of several voltage measurements, in volts.",
             (_analog(), Param("samples", "int", "Measurements to average", minimum=1,
                               maximum=100, default=16)),
             returns="volts"),
    Function("get_resistance", "Measure the resistance between RES and GND, in ohms "
             "(null when open).", returns="ohms or null"),
    Function("get_capacitance", "Measure the capacitance on CAP, in farads (may take seconds).",
             returns="farads"),
    Function("get_temperature", "Read the board's temperature sensor, in °C.", returns="°C"),
    Function("capture1", "Capture one oscilloscope channel.",
             (Param("channel", "str", "Oscilloscope channel", choices=SCOPE_CHANNELS),
              _samples(2000), _TIMEGAP),
             returns='{"t": [µs...], "<channel>": [V...]}'),
    Function("capture2", "Capture CH1 and CH2 together.", (_samples(2000), _TIMEGAP),
             returns='{"t": [µs...], "CH1": [V...], "CH2": [V...]}'),
    Function("capture4", "Capture CH1, CH2, CH3 and MIC together.", (_samples(1000), _TIMEGAP),
             returns='{"t": [µs...], "CH1": [...], "CH2": [...], "CH3": [...], "MIC": [...]}'),
    Function("select_range", "Set the input range (gain) of CH1 or CH2, in ± volts.",
             (Param("channel", "str", "Channel with a programmable gain",
                    choices=RANGE_CHANNELS),
              Param("range", "float", "Input range", choices=VOLTAGE_RANGES, unit="V")),
             drives_output=True, returns="the range set"),
    Function("set_sine1", "Output a sine wave on SI1.",
             (Param("frequency", "float", "Frequency", minimum=0.1, maximum=5000.0,
                    unit="Hz"),),
             drives_output=True, returns="the frequency set, in Hz"),
    Function("set_sine2", "Output a sine wave on SI2.",
             (Param("frequency", "float", "Frequency", minimum=0.1, maximum=5000.0,
                    unit="Hz"),),
             drives_output=True, returns="the frequency set, in Hz"),
    Function("set_sqr1", "Output a square wave on SQ1.",
             (Param("frequency", "float", "Frequency", minimum=4.0, maximum=1e6, unit="Hz"),
              Param("duty", "float", "Duty cycle", minimum=1.0, maximum=99.0, default=50,
                    unit="%")),
             drives_output=True, returns="the frequency set, in Hz"),
    Function("set_sqr2", "Output a square wave on SQ2.",
             (Param("frequency", "float", "Frequency", minimum=4.0, maximum=1e6, unit="Hz"),
              Param("duty", "float", "Duty cycle", minimum=1.0, maximum=99.0, default=50,
                    unit="%")),
             drives_output=True, returns="the frequency set, in Hz"),
    _SET_PV1, _SET_PV2, _SET_PV3,
    Function("set_pcs", "Set the programmable current source PCS (0 to 3.3 mA).",
             (Param("current", "float", "Output current", minimum=0.0, maximum=3.3,
                    unit="mA"),),
             drives_output=True, returns="the current set, in mA"),
    _GET_PV1, _GET_PV2, _GET_PV3,
    Function("get_pcs", "Read back the current set on PCS, in mA.", returns="mA"),
    Function("get_freq", "Measure the frequency of a digital signal, in Hz.",
             (_digital(), Param("timeout", "float", "Give up after", minimum=0.1, maximum=5.0,
                                default=1, unit="s")),
             returns="Hz"),
    Function("get_duty_cycle", "Measure the duty cycle of a digital signal, in %.",
             (_digital(), Param("timeout", "float", "Give up after", minimum=0.1, maximum=5.0,
                                default=1, unit="s")),
             returns="%"),
    Function("get_states", "Read the logic level of LA1..LA4.",
             returns='{"LA1": bool, ..., "LA4": bool}'),
    Function("count_pulses", "Count rising edges on a digital input during an interval.",
             (_digital(), Param("interval", "float", "Counting time", minimum=0.1,
                                maximum=5.0, default=1, unit="s")),
             returns="count"),
    Function("get_outputs", "What the device is driving now: waveforms, square waves, "
             "power supplies and input ranges (null = off).",
             returns='{"SI1": Hz|null, "SI2": ..., "SQ1": [Hz, %]|null, "SQ2": ..., '
                     '"PV1": V, "PV2": V, "PV3": V, "PCS": mA, "ranges": {"CH1": V, "CH2": V}}'),
    Function("reset_outputs", "Switch every output off (sines, squares, power supplies to 0) "
             "and restore the input ranges: the state every script run starts from.",
             drives_output=True, returns="the outputs after the reset"),
)

#: The allow-list, by name.
FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}


def get_function(name: str) -> Function | None:
    """The allow-listed function called ``name``, or None."""
    return FUNCTIONS.get(name)


def describe() -> list[dict[str, Any]]:
    """JSON-able list of every allow-listed function (for ``GET /v1/lab/functions``)."""
    return [f.describe() for f in _FUNCTIONS]
