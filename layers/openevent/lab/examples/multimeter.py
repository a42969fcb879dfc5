# Multimeter: read every analog input, with buttons to measure again
# type: ignore  # ruff: noqa  -- runs in the lab sandbox, where these names exist
label("Multimeter")
for channel in ("CH1", "CH2", "CH3", "VOL"):
    print(channel, "=", round(get_voltage(channel), 4), "V")
resistance = get_resistance()
print("RES =", "open" if resistance is None else f"{resistance:.1f} Ω")
print("capacitance =", get_capacitance(), "F")
button("Measure CH1", "get_voltage('CH1')", "number", "ch1")
button("Measure resistance", "get_resistance()", "number", "res")
button("Measure capacitance", "get_capacitance()", "number", "cap")
