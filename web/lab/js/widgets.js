// What the lab shows: a call's result (a number, a value table or a plot) and a run's
// widgets (text, label, plot, button), as `GET /v1/lab/runs/<id>` lists them.

import { lab } from "./api.js";
import { captureSeries, drawPlot, isCapture } from "./plot.js";

const UNITS = { volts: "V", "ohms or null": "Ω", farads: "F", "°C": "°C", Hz: "Hz", "%": "%",
  mA: "mA" };

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function formatNumber(value) {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(4);
  return String(Number.parseFloat(value.toPrecision(6)));
}

function scalarText(value) {
  if (value === null) return "null";
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

function table(rows, headers) {
  return el("table", { class: "values" },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map(([k, v]) =>
      el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: scalarText(v) })))));
}

// Fill `box` with a call result. `returns` is the function's documented result ("volts"…).
export function showResult(box, call, returns = null) {
  box.replaceChildren();
  const value = call.result;
  if (isCapture(value)) {
    const plot = el("div", { class: "plot-box" });
    box.append(plot);
    drawPlot(plot, captureSeries(value));
    if (call.downsampled) {
      box.append(el("p", { class: "hint", text: `Every ${call.downsampled}th sample shown (the device thinned the capture to fit one message).` }));
    }
  } else if (value !== null && typeof value === "object") {
    const rows = Array.isArray(value) ? value.map((v, i) => [String(i), v])
      : Object.entries(value);
    box.append(table(rows, Array.isArray(value) ? ["#", "value"] : ["name", "value"]));
  } else {
    const unit = UNITS[returns] || "";
    box.append(el("output", { class: "value" }, scalarText(value),
      unit && value !== null ? el("span", { class: "unit", text: ` ${unit}` }) : null));
    if (value === null && returns === "ohms or null") {
      box.append(el("span", { class: "hint", text: " (open circuit)" }));
    }
  }
}

// --- run output ------------------------------------------------------------------------

// Renders widgets into `container` incrementally: render(widgets) adds those not yet shown.
// A button's target names a display: the first button naming it creates it (an output next
// to the button for "number", or it takes over the latest plot / label above the button for
// "plot" / "label"); every button naming the same target updates that display in place.
export class RunOutput {
  constructor(container, describeFunction) {
    this.container = container;
    this.describeFunction = describeFunction;
    this.shown = 0;
    this.targets = new Map();
    this.lastPlot = null;
    this.lastLabel = null;
    container.replaceChildren();
  }

  render(widgets) {
    for (const widget of widgets.slice(this.shown)) {
      const nodes = this.widget(widget);
      this.container.append(...nodes);
      // plots are drawn once attached, so that they get the container's width
      for (const node of nodes) if (node._pending) node._pending();
    }
    this.shown = Math.max(this.shown, widgets.length);
  }

  // One widget → the nodes showing it.
  widget(w) {
    switch (w.type) {
      case "text":
        return [el("pre", { class: "w-text", text: w.text })];
      case "label": {
        const node = el("p", { class: "w-label", text: w.text });
        this.lastLabel = node;
        return [node];
      }
      case "plot": {
        const node = el("div", { class: "w-plot plot-box" });
        node._pending = () => drawPlot(node, {
          x: w.x, series: [{ label: w.ylabel || "y", values: w.y }], title: w.title || null,
          xLabel: w.xlabel || "x", yLabel: w.ylabel || "y",
        });
        this.lastPlot = node;
        return [node];
      }
      case "button":
        return this.button(w);
      default:
        return [el("p", { class: "hint", text: `(a ${w.type} widget this console cannot show)` })];
    }
  }

  // The display a button updates, and whether it is a new node to place after the button.
  targetFor(w) {
    const name = w.target || `button-${this.shown}`;
    if (this.targets.has(name)) return [this.targets.get(name), false];
    let node;
    let fresh = false;
    if (w.display === "plot" && this.lastPlot && !this.lastPlot.dataset.target) {
      node = this.lastPlot;
    } else if (w.display === "label" && this.lastLabel && !this.lastLabel.dataset.target) {
      node = this.lastLabel;
    } else if (w.display === "plot") {
      node = el("div", { class: "w-plot plot-box", "aria-label": `${name} (empty plot)` });
      fresh = true;
    } else {
      node = el("output", { class: "value w-target", text: "—" });
      fresh = true;
    }
    node.dataset.target = name;
    this.targets.set(name, node);
    return [node, fresh];
  }

  button(w) {
    const error = el("span", { class: "error", role: "alert" });
    const button = el("button", { type: "button", class: "w-button", text: w.label });
    const row = el("div", { class: "w-button-row" }, button);
    const [target, fresh] = this.targetFor(w);
    const nodes = [row];
    if (fresh && target.tagName === "OUTPUT") {
      target.id = `target-${this.targets.size}`;
      button.setAttribute("aria-controls", target.id);
      row.append(target);
    } else if (fresh) {
      nodes.push(target);
    }
    row.append(error);
    button.addEventListener("click", async () => {
      error.textContent = "";
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      target.setAttribute("aria-busy", "true");
      try {
        const call = await lab.call(w.function);
        if (call.status === "failed") {
          error.textContent = call.error || "The device could not do this.";
        } else {
          this.update(target, w, call);
          target.dataset.updates = String(Number(target.dataset.updates || 0) + 1);
        }
      } catch (exc) {
        error.textContent = exc.detail || String(exc);
      } finally {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        target.removeAttribute("aria-busy");
      }
    });
    return nodes;
  }

  update(target, w, call) {
    const value = call.result;
    const fn = this.describeFunction(w.function);
    if (target.classList.contains("plot-box")) {
      if (isCapture(value)) drawPlot(target, captureSeries(value));
      else if (Array.isArray(value)) {
        drawPlot(target, { x: value.map((_, i) => i), series: [{ label: "y", values: value }] });
      } else showResult(target, call, fn && fn.returns);
    } else if (target.tagName === "OUTPUT") {
      const unit = typeof value === "number" && fn ? UNITS[fn.returns] : "";
      target.textContent = isCapture(value) || (value !== null && typeof value === "object")
        ? JSON.stringify(value) : scalarText(value) + (unit ? ` ${unit}` : "");
    } else {
      target.textContent = typeof value === "object" && value !== null
        ? JSON.stringify(value) : scalarText(value);
    }
  }
}
