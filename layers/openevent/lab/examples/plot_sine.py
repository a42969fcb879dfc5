# Plotting: a 1 kHz sine from SI1, captured on CH1
# type: ignore  # ruff: noqa  -- runs in the lab sandbox, where these names exist
set_sine1(1000)
select_range("CH1", 4)
data = capture1("CH1", 500, 4)
label("SI1 (1 kHz sine) seen on CH1 — connect SI1 to CH1")
plot(data["t"], data["CH1"], xlabel="t (µs)", ylabel="CH1 (V)")
button("Capture again", "capture1('CH1', 500, 4)", "plot", "scope")
