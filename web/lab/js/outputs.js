// What the device is driving (waveforms, squares, power supplies, ranges), read with the
// allow-listed get_outputs(), and the Reset outputs button (reset_outputs()). Every script
// run starts from reset outputs; calls made from the console may drive them again.

import { lab } from "./api.js";
import { formatNumber } from "./widgets.js";

const $ = (id) => document.getElementById(id);

export function describeOutputs(o) {
  const on = [];
  if (o.SI1) on.push(`SI1 sine ${formatNumber(o.SI1)} Hz`);
  if (o.SI2) on.push(`SI2 sine ${formatNumber(o.SI2)} Hz`);
  if (o.SQ1) on.push(`SQ1 square ${formatNumber(o.SQ1[0])} Hz ${formatNumber(o.SQ1[1])} %`);
  if (o.SQ2) on.push(`SQ2 square ${formatNumber(o.SQ2[0])} Hz ${formatNumber(o.SQ2[1])} %`);
  for (const pv of ["PV1", "PV2", "PV3"]) if (o[pv]) on.push(`${pv} ${formatNumber(o[pv])} V`);
  if (o.PCS) on.push(`PCS ${formatNumber(o.PCS)} mA`);
  for (const [ch, r] of Object.entries(o.ranges || {})) if (r !== 16) on.push(`${ch} range ±${r} V`);
  return on.length ? `The device is driving: ${on.join(", ")}.` : "All outputs are off.";
}

async function show(functionString) {
  const box = $("outputs-text");
  try {
    const call = await lab.call(functionString);
    box.textContent = call.status === "done" ? describeOutputs(call.result)
      : `Could not read the outputs: ${call.error}`;
    box.dataset.state = call.status === "done" ? JSON.stringify(call.result) : "";
  } catch (exc) {
    box.textContent = exc.status === 503 ? "No lab host online." : `Could not read the outputs: ${exc.detail || exc}`;
  }
}

export function refreshOutputs() {
  return show("get_outputs()");
}

$("outputs-refresh").addEventListener("click", refreshOutputs);
$("outputs-reset").addEventListener("click", () => show("reset_outputs()"));
