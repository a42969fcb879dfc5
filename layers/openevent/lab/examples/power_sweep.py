# Power supply sweep: set PV1 in steps and read it back on CH1
# type: ignore  # ruff: noqa  -- runs in the lab sandbox, where these names exist
label("Connect PV1 to CH1")
setpoints = [-4, -2, 0, 2, 4]
readings = []
for volts in setpoints:
    set_pv1(volts)
    readings.append(get_voltage("CH1"))
    print(f"PV1 = {volts:+.1f} V → CH1 = {readings[-1]:+.3f} V")
set_pv1(0)
plot(setpoints, readings, xlabel="PV1 (V)", ylabel="CH1 (V)")
