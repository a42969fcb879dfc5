// The lab console: views, routing (#/login, #/signup, #/home, #/new, #/edit/<id>, #/run)
// and what each button does. The API calls are in api.js, the output widgets in widgets.js.

import * as api from "./api.js";
import { lab } from "./api.js";
import { createEditor } from "./editor.js";
import { leaveInstruments, openMeter, openScope } from "./instruments.js";
import { refreshOutputs } from "./outputs.js";
import { initRuns, startRun, watchRun } from "./runs.js";
import { el, showResult } from "./widgets.js";

const $ = (id) => document.getElementById(id);
const NO_HOST = "No lab host online — the lab device is switched off or disconnected. Try again later.";
const NEW_SCRIPT = "# My script: print, label, button and plot show output here\n" +
  "print(get_voltage('CH1'))\n";

const state = {
  functions: [],
  examples: [],
  scripts: [],
  editing: null, // script id in the editor, or null for a new one
  run: null, // {source, title, code, id, ticket}
  runTicket: 0,
  editorTicket: 0,
  editor: null,
  devicesTimer: null,
};

// --- small helpers ---------------------------------------------------------------------

function icon(name) {
  const paths = {
    play: "M4 2l10 6-10 6z",
    eye: "M8 3C4 3 1.5 6 1 8c.5 2 3 5 7 5s6.5-3 7-5c-.5-2-3-5-7-5zm0 8a3 3 0 110-6 3 3 0 010 6z",
    copy: "M5 1h8v10H5zM3 4v11h8v-1H4V4z",
    edit: "M11 1l4 4-9 9H2v-4z",
    trash: "M5 1h6v2h4v2H1V3h4zM3 6h10l-1 9H4z",
  };
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", paths[name]);
  svg.append(path);
  return svg;
}

function action(iconName, text, accessibleName, onclick, extra = {}) {
  return el("button", { type: "button", class: "action", "aria-label": accessibleName, onclick,
    ...extra }, icon(iconName), el("span", { text }));
}

function flash(message) {
  const box = $("flash");
  box.textContent = message || "";
  box.hidden = !message;
}

function errorText(exc) {
  if (exc instanceof api.ApiError && exc.status === 503) return NO_HOST;
  return exc instanceof api.ApiError ? exc.detail : String(exc);
}

function busy(button, on) {
  button.disabled = on;
  if (on) button.setAttribute("aria-busy", "true");
  else button.removeAttribute("aria-busy");
}

// --- routing ---------------------------------------------------------------------------

const VIEWS = ["login", "signup", "home", "editor", "run", "scope", "meter"];

function show(view) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  const loggedIn = Boolean(api.token());
  $("logout").hidden = !loggedIn;
  $("who").hidden = !loggedIn;
  $("device-status").hidden = !loggedIn;
  const heading = document.querySelector(`#view-${view} h1`);
  document.title = `${heading.textContent} — PSLab remote lab`;
  heading.focus();
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const hash = location.hash || "#/home";
  if (!api.token()) {
    state.run = null;
    show(hash === "#/signup" ? "signup" : "login");
    return;
  }
  state.runTicket += 1; // leaving (or re-entering) a view stops any run being polled
  if (hash !== "#/scope" && hash !== "#/meter") leaveInstruments();
  if (hash === "#/scope" || hash === "#/meter") {
    show(hash.slice(2));
    if (hash === "#/scope") openScope();
    else openMeter();
    await refreshDevices();
  } else if (hash.startsWith("#/run/")) {
    show("run");
    watchRun(decodeURIComponent(hash.slice("#/run/".length)));
  } else if (hash === "#/login" || hash === "#/signup" || hash === "#/home" || hash === "#/") {
    show("home");
    await loadHome();
  } else if (hash === "#/new") {
    openEditor(null);
  } else if (hash.startsWith("#/edit/")) {
    openEditor(decodeURIComponent(hash.slice("#/edit/".length)));
  } else if (hash === "#/run" && state.run) {
    show("run");
    startRun();
  } else {
    go("#/home");
  }
}

// --- 1. sign up, log in, log out -------------------------------------------------------

function fieldError(box, message, input) {
  box.textContent = message;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

function clearErrors(form, box) {
  box.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const box = $("login-error");
  clearErrors(form, box);
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  if (!email) return fieldError(box, "Enter your email.", $("login-email"));
  if (!password) return fieldError(box, "Enter your password.", $("login-password"));
  const button = form.querySelector("button[type=submit]");
  busy(button, true);
  try {
    await api.login(email, password);
    form.reset();
    flash("");
    go("#/home");
  } catch (exc) {
    fieldError(box, exc.status === 401 ? "Wrong email or password." : errorText(exc),
      $("login-password"));
  } finally {
    busy(button, false);
  }
});

const SIGNUP_FIELDS = { "/data/attributes/email": "signup-email",
  "/data/attributes/password": "signup-password", "/data/attributes/first-name": "signup-name" };

$("signup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const box = $("signup-error");
  clearErrors(form, box);
  const name = $("signup-name").value.trim();
  const email = $("signup-email").value.trim();
  const password = $("signup-password").value;
  if (!name) return fieldError(box, "Enter your name.", $("signup-name"));
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    return fieldError(box, "Enter a valid email address.", $("signup-email"));
  }
  if (password.length < 8) {
    return fieldError(box, "The password needs at least 8 characters.", $("signup-password"));
  }
  const button = form.querySelector("button[type=submit]");
  busy(button, true);
  try {
    await api.signup(name, email, password);
    await api.login(email, password);
    form.reset();
    go("#/home");
  } catch (exc) {
    const message = exc.status === 409 ? "An account with this email already exists." : errorText(exc);
    fieldError(box, message, $(SIGNUP_FIELDS[exc.pointer] || "signup-email"));
  } finally {
    busy(button, false);
  }
});

function logOut(message) {
  leaveInstruments();
  api.logout();
  clearInterval(state.devicesTimer);
  state.devicesTimer = null;
  state.run = null;
  state.runTicket += 1;
  $("who").textContent = "";
  // nothing of this user stays in the page
  state.scripts = [];
  for (const id of ["exec-result", "scripts", "run-output", "run-source"]) $(id).replaceChildren();
  $("exec-input").value = "";
  if (state.editor) state.editor.value = "";
  flash(message);
  go("#/login");
}

$("logout").addEventListener("click", () => logOut("You are logged out."));
api.whenUnauthorized(() => logOut("Your session has ended. Please log in again."));

// --- home ------------------------------------------------------------------------------

async function loadHome() {
  const [user, functions, examples] = await Promise.all([
    api.me().catch(() => null),
    state.functions.length ? state.functions : lab.functions(),
    state.examples.length ? state.examples : lab.examples(),
  ]);
  if (!api.token()) return;
  if (user) {
    const name = user["public-name"] || user["first-name"] || user.email;
    $("who").textContent = `Signed in as ${name}`;
  }
  // rendered once per login: re-rendering would take the focus away from a button in them
  if (!$("functions").children.length) {
    state.functions = functions;
    renderFunctions();
  }
  if (!$("examples").children.length) {
    state.examples = examples;
    renderExamples();
  }
  await Promise.all([refreshScripts(), refreshDevices(), refreshOutputs()]);
  if (!state.devicesTimer) state.devicesTimer = setInterval(refreshDevices, 15000);
}

async function refreshDevices() {
  if (!api.token()) return;
  const pill = $("device-status");
  try {
    const online = (await lab.devices()).filter((d) => d.online);
    pill.textContent = online.length
      ? `Lab host online (${online.map((d) => d.id).join(", ")})` : "No lab host online";
    pill.className = online.length ? "pill ok" : "pill bad";
  } catch (exc) {
    pill.textContent = "Lab status unknown";
    pill.className = "pill";
  }
}

// --- 2. execute a function string ------------------------------------------------------

function exampleCall(fn) {
  const args = fn.parameters.filter((p) => p.required).map((p) => {
    if (p.choices) return p.type === "str" ? `'${p.choices[0]}'` : String(p.choices[0]);
    const low = p.minimum ?? 0;
    const high = p.maximum ?? low;
    return String(low <= 1 && high >= 1 ? 1 : low);
  });
  return `${fn.name}(${args.join(", ")})`;
}

function describeFunction(functionString) {
  const name = String(functionString).split("(")[0].trim();
  return state.functions.find((f) => f.name === name) || null;
}

function renderFunctions() {
  $("function-list").replaceChildren(...state.functions.map((fn) =>
    el("option", { value: exampleCall(fn), label: `${fn.signature} — ${fn.doc}` })));
  $("functions").replaceChildren(...state.functions.map((fn) => {
    const params = fn.parameters.map((p) => {
      const limits = p.choices ? `one of ${p.choices.join(", ")}`
        : p.minimum !== undefined ? `${p.minimum} to ${p.maximum}${p.unit ? ` ${p.unit}` : ""}` : "";
      const dflt = p.required ? "" : `, default ${p.default}`;
      return el("li", {}, el("code", { text: p.name }), ` — ${p.doc}${limits ? ` (${limits}${dflt})` : dflt ? ` (${dflt.slice(2)})` : ""}`);
    });
    return el("li", { class: "function", "data-name": fn.name },
      el("details", {},
        el("summary", {}, el("code", { text: fn.signature }),
          fn["drives-output"] ? el("span", { class: "tag", text: "drives an output" }) : null),
        el("p", { text: `${fn.doc} Returns ${fn.returns}.` }),
        params.length ? el("ul", { class: "params" }, ...params) : null,
        el("button", { type: "button", class: "small", onclick: () => {
          $("exec-input").value = exampleCall(fn);
          $("exec-input").focus();
        } }, `Use ${exampleCall(fn)}`)));
  }));
}

$("exec-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("exec-input");
  const box = $("exec-error");
  const result = $("exec-result");
  clearErrors(event.target, box);
  const text = input.value.trim();
  if (!text) return fieldError(box, "Type a function string, for example get_voltage('CH1').", input);
  const button = $("exec-button");
  busy(button, true);
  result.replaceChildren(el("p", { class: "hint", text: `Running ${text} …` }));
  try {
    const call = await lab.call(text);
    if (call.status === "failed") {
      result.replaceChildren();
      fieldError(box, `The device could not run it: ${call.error}`, null);
    } else {
      result.replaceChildren(el("p", { class: "call", text: call.function }),
        el("div", { class: "call-value" }));
      showResult(result.lastChild, call, (describeFunction(text) || {}).returns);
    }
  } catch (exc) {
    result.replaceChildren();
    fieldError(box, exc.status === 422 ? `Refused: ${exc.detail}` : errorText(exc), input);
    if (exc.status === 503) refreshDevices();
  } finally {
    busy(button, false);
    if ((describeFunction(text) || {})["drives-output"]) refreshOutputs();
  }
});

// --- 3. examples -----------------------------------------------------------------------

const sourceCache = new Map();

async function exampleCode(name) {
  if (!sourceCache.has(name)) sourceCache.set(name, (await lab.example(name)).code);
  return sourceCache.get(name);
}

function renderExamples() {
  $("examples").replaceChildren(...state.examples.map((ex) => el("li", { "data-name": ex.name },
    el("span", { class: "item-title" }, el("strong", { text: ex.name }), el("br"), ex.title),
    el("span", { class: "actions" },
      action("play", "Run", `Run ${ex.name}`, () => runApp(
        { kind: "example", name: ex.name }, ex.name, ex.title)),
      action("eye", "View source", `View source of ${ex.name}`, () => viewSource(ex)),
      action("copy", "Copy", `Copy ${ex.name} to my scripts`, (event) =>
        copyExample(ex, event.currentTarget))))));
}

async function viewSource(ex) {
  // (the button stays enabled: the dialog gives focus back to it when it closes)
  try {
    $("source-title").textContent = `${ex.name} — ${ex.title}`;
    $("source-code").textContent = await exampleCode(ex.name);
    $("source-dialog").showModal();
  } catch (exc) {
    flash(errorText(exc));
  }
}

async function copyExample(ex, button) {
  busy(button, true);
  try {
    const script = await lab.saveScript(null, `${ex.title} (copy)`, await exampleCode(ex.name));
    state.editorStatus = `Copied ${ex.name} into your scripts. Change it and save.`;
    go(`#/edit/${encodeURIComponent(script.id)}`);
  } catch (exc) {
    flash(errorText(exc));
  } finally {
    busy(button, false);
  }
}

// --- 5. own scripts --------------------------------------------------------------------

async function refreshScripts() {
  const scripts = await lab.scripts();
  if (JSON.stringify(scripts) === JSON.stringify(state.scripts) && $("scripts").children.length) {
    return; // unchanged: keep the list (and the focus in it) as it is
  }
  state.scripts = scripts;
  const focused = document.activeElement;
  const keep = $("scripts").contains(focused)
    ? [focused.closest("li").dataset.id, focused.getAttribute("aria-label")] : null;
  $("scripts-empty").hidden = scripts.length > 0;
  $("scripts").replaceChildren(...scripts.map((s) => el("li", { "data-id": s.id },
    el("span", { class: "item-title" }, el("strong", { text: s.title })),
    el("span", { class: "actions" },
      action("play", "Run", `Run ${s.title}`, () => runApp(
        { kind: "script", id: s.id }, s.title, null, s.code)),
      action("edit", "Edit", `Edit ${s.title}`, () => go(`#/edit/${encodeURIComponent(s.id)}`)),
      action("trash", "Delete", `Delete ${s.title}`, () => deleteScript(s))))));
  if (keep) scriptButton(keep[0], keep[1])?.focus();
}

// The button of script `id` whose accessible name is `name` (the list is re-rendered).
function scriptButton(id, name) {
  return [...$("scripts").querySelectorAll("li")].find((li) => li.dataset.id === id)
    ?.querySelector(`button[aria-label="${CSS.escape(name)}"]`) || null;
}

function confirmDialog(text) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  $("confirm-cancel").focus(); // the safe choice is the default
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function deleteScript(script) {
  const ok = await confirmDialog(`Delete the script “${script.title}”? This cannot be undone.`);
  if (!ok) {
    scriptButton(script.id, `Delete ${script.title}`)?.focus();
    return;
  }
  try {
    await lab.deleteScript(script.id);
    flash(`Deleted “${script.title}”.`);
    await refreshScripts();
    $("new-script").focus();
  } catch (exc) {
    flash(errorText(exc));
  }
}

$("new-script").addEventListener("click", () => go("#/new"));

async function openEditor(id) {
  if (!state.editor) state.editor = createEditor($("script-code"));
  state.editing = id;
  const ticket = ++state.editorTicket;
  $("editor-error").textContent = "";
  $("editor-status").textContent = state.editorStatus || "";
  state.editorStatus = null;
  $("editor-title").textContent = id ? "Edit script" : "New Python Script";
  $("script-title").value = "";
  state.editor.value = id ? "" : NEW_SCRIPT;
  show("editor");
  const form = $("editor-form");
  if (id) {
    // nothing can be typed until the script is here, so a late answer overwrites nothing
    form.setAttribute("aria-busy", "true");
    for (const control of form.elements) control.disabled = true;
    state.editor.readOnly = true;
    try {
      const script = await lab.script(id);
      if (ticket !== state.editorTicket) return;
      $("script-title").value = script.title;
      state.editor.value = script.code;
    } catch (exc) {
      $("editor-error").textContent = errorText(exc);
    } finally {
      if (ticket === state.editorTicket) {
        form.removeAttribute("aria-busy");
        for (const control of form.elements) control.disabled = false;
        state.editor.readOnly = false;
      }
    }
  }
  state.editor.refresh();
  $("script-title").focus();
}

document.querySelector("#script-code-label").addEventListener("click", () => state.editor.focus());

async function saveScript() {
  const box = $("editor-error");
  clearErrors($("editor-form"), box);
  const title = $("script-title").value.trim();
  if (!title) {
    fieldError(box, "Give the script a title.", $("script-title"));
    return null;
  }
  const code = state.editor.value;
  if (!code.trim()) {
    fieldError(box, "The script is empty.", null);
    state.editor.focus();
    return null;
  }
  try {
    const script = await lab.saveScript(state.editing, title, code);
    state.editing = script.id;
    $("editor-title").textContent = "Edit script";
    $("editor-status").textContent = `Saved “${script.title}”.`;
    history.replaceState(null, "", `#/edit/${encodeURIComponent(script.id)}`);
    return script;
  } catch (exc) {
    fieldError(box, errorText(exc), exc.pointer && exc.pointer.endsWith("/title")
      ? $("script-title") : null);
    return null;
  }
}

$("editor-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("save-script");
  busy(button, true);
  await saveScript();
  busy(button, false);
});

$("save-run-script").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  busy(button, true);
  const script = await saveScript();
  busy(button, false);
  if (script) runApp({ kind: "script", id: script.id }, script.title, null, script.code);
});

// --- 4. running an app -----------------------------------------------------------------

function runApp(source, name, title, code = null) {
  state.run = { source, name, title, code };
  go("#/run");
}

// --- start -----------------------------------------------------------------------------

initRuns({ state, errorText, describeFunction, exampleCode, refreshDevices, busy });

window.addEventListener("hashchange", () => {
  flash(document.getElementById("flash").textContent && location.hash === "#/login"
    ? $("flash").textContent : "");
  route();
});
route();
