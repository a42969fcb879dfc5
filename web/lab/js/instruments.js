// The live Oscilloscope and Multimeter views (#/scope, #/meter), fed by a LabStream.
//
// The scope draws each frame into one uPlot chart (setData, no rebuild while the settings
// stay), shows a cursor readout (mouse or ← → on the focused trace) and a measurement of the
// first channel (frequency, period, periods on screen, Vpp), and exports the frame on
// screen as CSV. Both views say when the device is offline or busy with another stream.

import { lab } from "./api.js";
import { LabStream } from "./stream.js";
import { el, formatNumber } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a"];

async function onlineDevice() {
  try {
    const online = (await lab.devices()).filter((d) => d.online);
    return online.length ? online[0].id : null;
  } catch {
    return null;
  }
}

function setState(box, text, cls = "") {
  box.textContent = text;
  box.className = `stream-state ${cls}`.trim();
}

function showBusy(prefix, message, onJoin) {
  $(`${prefix}-busy-text`).textContent = message.detail || "The device is in use by another stream.";
  $(`${prefix}-busy`).hidden = false;
  $(`${prefix}-join`).hidden = !message.current;
  $(`${prefix}-join`).onclick = () => onJoin(message.current);
}

function fieldForPointer(prefix, pointer) {
  const name = String(pointer || "").split("/").pop();
  const map = { samples: "samples", timegap: "timebase", fps: "fps", channels: "timebase",
    level: "level", channel: prefix === "scope" ? "trigger" : "channel", edge: "edge",
    quantity: "quantity", rate: "rate" };
  return $(`${prefix}-${map[name] || (prefix === "scope" ? "timebase" : "quantity")}`);
}

function showError(prefix, message) {
  const box = $(`${prefix}-error`);
  box.textContent = message.detail;
  const field = fieldForPointer(prefix, message.pointer);
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

function clearError(prefix) {
  $(`${prefix}-error`).textContent = "";
  for (const f of $(`${prefix}-form`).querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
  $(`${prefix}-busy`).hidden = true;
}

function setRunButton(button, running) {
  button.textContent = running ? "Stop" : "Run";
  button.setAttribute("aria-pressed", running ? "true" : "false");
}

// ------------------------------------------------------------------ oscilloscope

const scope = { stream: null, running: false, single: false, frame: null, plot: null,
  plotKey: "", window: 2000, device: null, frames: 0 };

function scopeSettings() {
  const channels = [...document.querySelectorAll('#scope-form input[name="channel"]:checked')]
    .map((c) => c.value);
  const windowUs = Number($("scope-timebase").value);
  let samples = Number($("scope-samples").value);
  if (channels.some((c) => c === "CH3" || c === "MIC")) samples = Math.min(samples, 1000);
  samples = Math.max(10, Math.min(samples, Math.floor(windowUs / 0.5)));
  const trigger = $("scope-trigger").value
    ? { channel: $("scope-trigger").value, level: Number($("scope-level").value) || 0,
      edge: $("scope-edge").value } : null;
  return { channels, samples, timegap: Number((windowUs / samples).toPrecision(6)),
    fps: Number($("scope-fps").value), trigger };
}

function scopeStream() {
  if (scope.stream) return scope.stream;
  const s = new LabStream();
  s.on("opened", (m) => {
    if (m.instrument !== "scope") return;
    $("scope-busy").hidden = true;
    const viewers = m.viewers === 1 ? "1 viewer" : `${m.viewers} viewers`;
    setState($("scope-state"), scope.single ? "Single shot: waiting for a frame"
      : `Running — ${m.settings.fps} frames/s, ${viewers}`, "running");
  }).on("viewers", (m) => {
    if (scope.running) setState($("scope-state"), `Running — ${m.viewers} viewer(s)`, "running");
  }).on("busy", (m) => {
    s.stop(); // not watching the other stream either (it stops when its own viewers leave)
    scopeStopped("Busy: the device is streaming for someone else", "busy");
    showBusy("scope", m, (current) => joinScope(current));
  }).on("error", (m) => {
    scopeStopped("Stopped");
    showError("scope", m);
  }).on("device", (m) => {
    if (!m.online) scopeStopped(m.detail || "The device is offline", "offline");
  }).on("stopped", (m) => {
    // "stopped by you" confirms a Stop (or a single shot) the view has already shown
    if (m.reason !== "stopped by you") scopeStopped(`Stopped: ${m.reason}`);
  })
    .on("closed", (m) => scopeStopped(`Stopped: ${m.reason}`))
    .on("disconnected", () => {
      if (scope.running) scopeStopped("Disconnected from the lab; press Run to reconnect", "offline");
    })
    .on("frame", drawScopeFrame);
  scope.stream = s;
  return s;
}

function scopeStopped(text, cls = "") {
  scope.running = false;
  scope.single = false;
  setRunButton($("scope-run"), false);
  setState($("scope-state"), text, cls);
}

async function startScope(settings = null, single = false) {
  clearError("scope");
  const s = settings || scopeSettings();
  if (!s.channels.length) {
    showError("scope", { detail: "Choose at least one channel.", pointer: "/settings/channels" });
    document.querySelector('#scope-form input[name="channel"]').focus();
    return;
  }
  scope.device = await onlineDevice();
  if (!scope.device) {
    scopeStopped("No lab device is online — the device is switched off or disconnected", "offline");
    return;
  }
  scope.running = true;
  scope.single = single;
  scope.window = s.samples * s.timegap;
  setRunButton($("scope-run"), !single);
  setState($("scope-state"), "Starting…", "running");
  scopeStream().open(scope.device, "scope", s);
}

function joinScope(current) {
  const s = current.settings;
  for (const box of document.querySelectorAll('#scope-form input[name="channel"]')) {
    box.checked = s.channels.includes(box.value);
  }
  $("scope-fps").value = String(s.fps);
  $("scope-trigger").value = s.trigger ? s.trigger.channel : "";
  startScope(s, false);
}

function drawScopeFrame(frame) {
  if (frame.instrument !== "scope" || !scope.running) return;
  scope.frame = frame;
  const box = $("scope-plot");
  const channels = frame.settings.channels;
  const data = [frame.data.t, ...channels.map((c) => frame.data[c])];
  const windowUs = frame.settings.samples * frame.settings.timegap;
  const key = `${channels.join(",")}|${windowUs}`;
  if (!scope.plot || scope.plotKey !== key) {
    if (scope.plot) scope.plot.destroy();
    box.replaceChildren();
    scope.plotKey = key;
    scope.plot = makeScopePlot(box, channels, windowUs, data);
  } else {
    scope.plot.setData(data);
  }
  scope.frames += 1;
  box.dataset.frames = String(scope.frames);
  box.dataset.seq = String(frame.seq);
  box.dataset.points = String(frame.data.t.length);
  box.setAttribute("aria-label", `Oscilloscope trace, ${channels.join(", ")}, ${formatNumber(windowUs / 1000)} ms wide`);
  measure(frame, windowUs);
  if (scope.single) {
    scope.stream.stop();
    scopeStopped(`Single shot taken (frame ${frame.seq})`);
  }
}

function makeScopePlot(box, channels, windowUs, data) {
  const width = Math.max(280, Math.min(box.clientWidth || 800, 1100) - 4);
  // eslint-disable-next-line no-undef
  return new uPlot({
    width, height: 320,
    scales: { x: { time: false, range: [0, windowUs] },
      // eslint-disable-next-line no-undef
      y: { range: (u, min, max) => (min === max ? [min - 1, max + 1] : uPlot.rangeNum(Math.min(min, -1), Math.max(max, 1), 0.1, true)) } },
    axes: [{ label: "t (µs)" }, { label: "V" }],
    legend: { show: true },
    cursor: { drag: { x: true, y: false } }, // drag to zoom, double-click to reset
    series: [{ label: "t (µs)" }, ...channels.map((c, i) => ({ label: c, stroke: COLORS[i], width: 2, points: { show: false } }))],
    hooks: { setCursor: [(u) => readout(u)] },
  }, data, box);
}

function readout(u) {
  const i = u.cursor.idx;
  if (i === null || i === undefined) return;
  const parts = u.series.slice(1).map((s, k) => `${s.label} = ${formatNumber(u.data[k + 1][i])} V`);
  $("scope-readout").textContent = `Cursor: t = ${formatNumber(u.data[0][i])} µs · ${parts.join(" · ")}`;
}

function measure(frame, windowUs) {
  const ch = frame.settings.channels[0];
  const ys = frame.data[ch];
  const t = frame.data.t;
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const mid = (min + max) / 2;
  const crossings = []; // both edges: two per period, so two periods on screen suffice
  for (let i = 1; i < ys.length; i++) {
    if ((ys[i - 1] < mid) !== (ys[i] < mid)) crossings.push(t[i]);
  }
  const box = $("scope-measure");
  if (max - min < 0.05 || crossings.length < 3) {
    box.textContent = `${ch}: ${formatNumber(mid)} V (no periodic signal), Vpp ${formatNumber(max - min)} V`;
    box.dataset.periods = "0";
    return;
  }
  const period = (2 * (crossings[crossings.length - 1] - crossings[0])) / (crossings.length - 1);
  const periods = windowUs / period;
  box.textContent = `${ch}: ${formatNumber(1e6 / period)} Hz, period ${formatNumber(period / 1000)} ms, ` +
    `${periods.toFixed(1)} periods on screen, Vpp ${formatNumber(max - min)} V`;
  box.dataset.periods = periods.toFixed(1);
}

function exportCsv() {
  const frame = scope.frame;
  if (!frame) {
    $("scope-error").textContent = "No frame yet: press Run or Single shot first.";
    return;
  }
  const channels = frame.settings.channels;
  const lines = [["t_us", ...channels.map((c) => `${c}_V`)].join(",")];
  frame.data.t.forEach((t, i) => lines.push([t, ...channels.map((c) => frame.data[c][i])].join(",")));
  download(`oscilloscope-frame-${frame.seq}.csv`, `${lines.join("\n")}\n`);
}

export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

$("scope-run").addEventListener("click", () => {
  if (scope.running && !scope.single) {
    scope.stream.stop();
    scopeStopped("Stopped");
  } else {
    startScope();
  }
});
$("scope-single").addEventListener("click", () => startScope(null, true));
$("scope-csv").addEventListener("click", exportCsv);
for (const id of ["scope-timebase", "scope-samples", "scope-fps", "scope-trigger", "scope-level", "scope-edge"]) {
  $(id).addEventListener("change", () => {
    $(id).removeAttribute("aria-invalid");
    if (scope.running && !scope.single) startScope();
  });
}
$("scope-form").addEventListener("change", (event) => {
  if (event.target.name === "channel" && scope.running && !scope.single) startScope();
});
$("scope-plot").addEventListener("keydown", (event) => {
  const u = scope.plot;
  if (!u || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  event.preventDefault();
  const n = u.data[0].length;
  let i = u.cursor.idx ?? Math.floor(n / 2);
  const step = event.shiftKey ? Math.max(1, Math.floor(n / 20)) : 1;
  if (event.key === "ArrowLeft") i -= step;
  if (event.key === "ArrowRight") i += step;
  if (event.key === "Home") i = 0;
  if (event.key === "End") i = n - 1;
  i = Math.max(0, Math.min(n - 1, i));
  u.setCursor({ left: u.valToPos(u.data[0][i], "x"), top: u.valToPos(u.data[1][i], "y") });
  readout(u);
});

// -------------------------------------------------------------------- multimeter

const meter = { stream: null, running: false, readings: 0, recent: [] };

function meterStream() {
  if (meter.stream) return meter.stream;
  const s = new LabStream();
  s.on("opened", (m) => {
    if (m.instrument !== "meter") return;
    $("meter-busy").hidden = true;
    setState($("meter-state"), `Running — ${m.settings.rate} readings/s`, "running");
  }).on("busy", (m) => {
    s.stop();
    meterStopped("Busy: the device is streaming for someone else", "busy");
    showBusy("meter", m, (current) => {
      if (current.instrument !== "meter") {
        location.hash = "#/scope";
        return;
      }
      startMeter(current.settings);
    });
  }).on("error", (m) => {
    meterStopped("Stopped");
    showError("meter", m);
  }).on("device", (m) => {
    if (!m.online) meterStopped(m.detail || "The device is offline", "offline");
  }).on("stopped", (m) => {
    if (m.reason !== "stopped by you") meterStopped(`Stopped: ${m.reason}`);
  })
    .on("closed", (m) => meterStopped(`Stopped: ${m.reason}`))
    .on("disconnected", () => {
      if (meter.running) meterStopped("Disconnected from the lab; press Run to reconnect", "offline");
    })
    .on("frame", (frame) => {
      if (frame.instrument !== "meter" || !meter.running) return;
      const d = frame.data;
      const out = $("meter-value");
      meter.readings += 1;
      out.textContent = d.value === null ? "—" : `${formatNumber(d.value)} ${d.unit}`;
      out.dataset.readings = String(meter.readings);
      if (typeof d.value === "number") meter.recent = [...meter.recent.slice(-19), d.value];
      const r = meter.recent;
      if (r.length) {
        const avg = r.reduce((a, b) => a + b, 0) / r.length;
        $("meter-stats").textContent = `${d.quantity}${d.channel ? ` on ${d.channel}` : ""} · last ${r.length}: ` +
          `min ${formatNumber(Math.min(...r))}, max ${formatNumber(Math.max(...r))}, mean ${formatNumber(avg)} ${d.unit}`;
      }
    });
  meter.stream = s;
  return s;
}

function meterStopped(text, cls = "") {
  meter.running = false;
  setRunButton($("meter-run"), false);
  setState($("meter-state"), text, cls);
}

async function startMeter(settings = null) {
  clearError("meter");
  const s = settings || { quantity: $("meter-quantity").value, channel: $("meter-channel").value,
    rate: Number($("meter-rate").value) };
  const device = await onlineDevice();
  if (!device) {
    meterStopped("No lab device is online — the device is switched off or disconnected", "offline");
    return;
  }
  meter.running = true;
  meter.recent = [];
  setRunButton($("meter-run"), true);
  setState($("meter-state"), "Starting…", "running");
  meterStream().open(device, "meter", s);
}

$("meter-run").addEventListener("click", () => {
  if (meter.running) {
    meter.stream.stop();
    meterStopped("Stopped");
  } else {
    startMeter();
  }
});
for (const id of ["meter-quantity", "meter-channel", "meter-rate"]) {
  $(id).addEventListener("change", () => {
    if (meter.running) startMeter();
  });
}

// ------------------------------------------------------------------- view changes

export function openScope() {
  setState($("scope-state"), scope.running ? $("scope-state").textContent : "Stopped — press Run");
}

export function openMeter() {
  setState($("meter-state"), meter.running ? $("meter-state").textContent : "Stopped — press Run");
}

// Leaving the instruments (another view, log out): the connections close, and the server
// stops the capture when its last viewer is gone.
export function leaveInstruments() {
  for (const inst of [scope, meter]) {
    if (inst.stream) inst.stream.close();
    inst.stream = null;
    inst.running = false;
  }
  setRunButton($("scope-run"), false);
  setRunButton($("meter-run"), false);
}
