// The run view: start a run, follow it until it ends (#/run/<id> survives a reload), Stop,
// Run again and the output as CSV. app.js hands in what it shares (state and helpers).

import * as api from "./api.js";
import { lab } from "./api.js";
import { download } from "./instruments.js";
import { refreshOutputs } from "./outputs.js";
import { el, RunOutput } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const FINAL = new Set(["done", "failed", "timeout"]);
let ctx = null; // {state, errorText, describeFunction, exampleCode, refreshDevices, busy}

export function initRuns(shared) {
  ctx = shared;
}

export function setRunStatus(status) {
  const box = $("run-status");
  box.textContent = status;
  box.className = `status ${status}`;
  $("view-run").dataset.status = status;
}

export async function startRun() {
  const run = ctx.state.run;
  const ticket = ctx.state.runTicket;
  $("run-title").textContent = `Run: ${run.name}`;
  document.title = `Run: ${run.name} — PSLab remote lab`;
  $("run-error").textContent = "";
  ctx.state.runOutput = [];
  const output = new RunOutput($("run-output"), ctx.describeFunction);
  $("run-source").textContent = run.code || "";
  if (run.source.kind === "example" && !run.code) {
    ctx.exampleCode(run.source.name).then((code) => {
      run.code = code;
      $("run-source").textContent = code;
    }).catch(() => {});
  }
  setRunStatus("starting");
  let started;
  try {
    started = await lab.startRun(run.source);
  } catch (exc) {
    setRunStatus("not started");
    $("run-error").textContent = ctx.errorText(exc);
    if (exc.status === 503) ctx.refreshDevices();
    return;
  }
  setRunStatus(started.status);
  ctx.state.run.id = started.id;
  // a link to this run's result: a reload (or the address sent on) shows the same run
  history.replaceState(null, "", `#/run/${encodeURIComponent(started.id)}`);
  await followRun(started.id, ticket, output);
}

// Poll a run until it ends, drawing its widgets; `#/run/<id>` comes back here after a reload.
async function followRun(id, ticket, output) {
  ctx.state.runId = id;
  $("run-stop").hidden = false;
  $("run-stop").disabled = false;
  let delay = 200;
  for (let first = true; ticket === ctx.state.runTicket; first = false) {
    if (!first) await api.sleep(delay);
    delay = Math.min(delay * 1.5, 1000);
    if (ticket !== ctx.state.runTicket) return;
    let current;
    try {
      current = await lab.run(id);
    } catch (exc) {
      $("run-error").textContent = ctx.errorText(exc);
      $("run-stop").hidden = true;
      return;
    }
    if (ticket !== ctx.state.runTicket) return;
    output.render(current.output || []);
    ctx.state.runOutput = current.output || [];
    setRunStatus(current.status);
    if (FINAL.has(current.status)) {
      $("run-stop").hidden = true;
      if (current.reason === "stopped by the user") {
        setRunStatus("stopped");
        $("run-error").textContent = "You stopped the script.";
      } else if (current.status !== "done") {
        $("run-error").textContent = current.status === "timeout"
          ? `The script ran too long and was stopped${current.reason ? `: ${current.reason}` : "."}`
          : `The script failed: ${current.reason || "no reason given"}`;
      }
      if (!(current.output || []).length && current.status === "done") {
        $("run-output").append(el("p", { class: "hint", text: "The script showed nothing." }));
      }
      refreshOutputs();
      return;
    }
  }
}

export async function watchRun(id) {
  const ticket = ctx.state.runTicket;
  $("run-error").textContent = "";
  $("run-title").textContent = "Run";
  const output = new RunOutput($("run-output"), ctx.describeFunction);
  output.render([]);
  $("run-output").replaceChildren();
  let first;
  try {
    first = await lab.run(id);
  } catch (exc) {
    setRunStatus("not found");
    $("run-error").textContent = ctx.errorText(exc);
    return;
  }
  const [kind, ...rest] = String(first.source || "").split(":");
  const name = rest.join(":");
  const script = kind === "script" ? ctx.state.scripts.find((s) => s.id === name) : null;
  const title = kind === "example" ? name : script ? script.title : "script";
  ctx.state.run = { source: kind === "example" ? { kind, name } : { kind: "script", id: name },
    name: title, title: null, code: script ? script.code : null, id };
  $("run-title").textContent = `Run: ${title}`;
  document.title = `Run: ${title} — PSLab remote lab`;
  $("run-source").textContent = ctx.state.run.code || "";
  if (kind === "example") {
    ctx.exampleCode(name).then((code) => {
      ctx.state.run.code = code;
      $("run-source").textContent = code;
    }).catch(() => {});
  }
  await followRun(id, ticket, output);
}

$("run-stop").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  ctx.busy(button, true);
  try {
    await lab.stopRun(ctx.state.runId);
    setRunStatus("stopping");
  } catch (exc) {
    $("run-error").textContent = ctx.errorText(exc);
  } finally {
    ctx.busy(button, false);
  }
});

// The run's output as CSV: one row per plotted point (plot, x, y) and per text line.
$("run-csv").addEventListener("click", () => {
  const rows = ["widget,index,x,y,text"];
  const quote = (v) => `"${String(v).replaceAll('"', '""')}"`;
  (ctx.state.runOutput || []).forEach((w, n) => {
    if (w.type === "plot") w.x.forEach((x, i) => rows.push(`plot ${n + 1},${i},${x},${w.y[i]},`));
    else if (w.type === "text" || w.type === "label") rows.push(`${w.type} ${n + 1},,,,${quote(w.text)}`);
  });
  download(`run-${ctx.state.runId || "output"}.csv`, `${rows.join("\n")}\n`);
});

$("run-again").addEventListener("click", () => {
  ctx.state.runTicket += 1;
  startRun();
});

