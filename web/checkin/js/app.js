// The scanner page: log in, pick the event, scan (camera or typed code), see a large answer.
// Online every scan goes to the API; with the network down the page decides from the list
// it downloaded before (offline.js) and syncs the queue when the network is back.

import * as api from "./api.js";
import { Camera } from "./camera.js";
import { OfflineStore } from "./offline.js";

const $ = (id) => document.getElementById(id);
const HOLD_MS = 2500; // the same code is not scanned again while its answer is shown
const EVENT_KEY = "openevent.checkin.currentEvent";

const state = { event: null, store: null, camera: null, last: { code: null, at: 0 }, online: true };

function show(view) {
  for (const id of ["view-login", "view-events", "view-scan"]) $(id).hidden = id !== view;
  $("logout").hidden = view === "view-login";
}

function flash(text) {
  $("flash").textContent = text || "";
  $("flash").hidden = !text;
}

function setOnline(online) {
  state.online = online;
  $("network").textContent = online ? "Online" : "Offline";
  $("network").classList.toggle("offline", !online);
}

function deviceName() {
  let name = localStorage.getItem("openevent.checkin.device");
  if (!name) {
    name = `Scanner ${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
    localStorage.setItem("openevent.checkin.device", name);
  }
  return name;
}

function timeText(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

function showAnswer(answer) {
  const box = $("result");
  box.className = `result ${answer.result}`;
  box.dataset.result = answer.result;
  box.dataset.reason = answer.reason || "";
  $("result-word").textContent = { admitted: "Admitted", "already-in": "Already in",
    refused: "Refused" }[answer.result] || answer.result;
  $("result-name").textContent = answer.attendee ? answer.attendee.name : "";
  $("result-ticket").textContent = answer.attendee ? answer.attendee.ticket : "";
  let detail = answer.message || "";
  if (answer.result === "already-in") {
    detail = `Checked in at ${timeText(answer["checked-in-at"])} on ${answer.device || "-"}`;
  } else if (answer.offline) {
    detail = "Admitted offline; will sync when the network is back";
  }
  $("result-detail").textContent = detail;
  $("result-detail").dataset.at = answer["checked-in-at"] || "";
}

function remember(answer) {
  const li = document.createElement("li");
  li.dataset.result = answer.result;
  li.textContent = `${$("result-word").textContent}: ${answer.attendee ? answer.attendee.name : "-"}`
    + ` (${new Date().toLocaleTimeString()})`;
  const list = $("history");
  list.prepend(li);
  while (list.children.length > 8) list.lastChild.remove();
}

async function refreshFigures() {
  if (!state.event || !state.online) return;
  try {
    const f = await api.figures(state.event.id);
    $("figures").textContent = `Checked in ${f["checked-in"]} of ${f.sold} sold`;
  } catch (exc) {
    if (exc.status === 0) setOnline(false);
  }
}

function showQueue() {
  const store = state.store;
  if (!store) return;
  $("queue").textContent = store.queued ? `${store.queued} check-in(s) waiting to sync` : "";
  const list = $("conflict-list");
  list.replaceChildren(...store.conflicts.map((c) => {
    const li = document.createElement("li");
    const who = c.attendee ? c.attendee.name : "A ticket";
    const a = c.answer;
    li.textContent = a.result === "already-in"
      ? `${who}: admitted here offline, but already checked in on ${a.device || "-"} at ${timeText(a["checked-in-at"])}`
      : `${who}: admitted here offline, refused by the server (${a.message})`;
    return li;
  }));
  $("conflicts").hidden = !store.conflicts.length;
}

async function prepare() {
  const store = state.store;
  $("prepared").textContent = "Downloading the attendee list…";
  try {
    const [keys, attendees] = await Promise.all([api.keys(state.event.id),
      api.attendees(state.event.id)]);
    store.prepare(keys, attendees);
    const n = attendees.length;
    $("prepared").textContent = `Ready offline: ${n} attendee${n === 1 ? "" : "s"}`;
  } catch (exc) {
    $("prepared").textContent = store.prepared
      ? `Offline list from ${timeText(store.data.preparedAt)}` : `Not ready offline: ${exc.message}`;
  }
}

async function sync() {
  const store = state.store;
  if (!store || !store.queued) return;
  const sent = await store.sync((body) => api.scan(state.event.id, body));
  if (sent) {
    setOnline(true);
    refreshFigures();
  }
  showQueue();
}

async function handleCode(raw) {
  const code = String(raw || "").trim();
  if (!code || !state.event) return;
  const now = Date.now();
  if (code === state.last.code && now - state.last.at < HOLD_MS) return;
  state.last = { code, at: now };
  const scanId = crypto.randomUUID();
  const device = $("device").value.trim() || deviceName();
  let answer;
  try {
    answer = await api.scan(state.event.id, { code, "scan-id": scanId, device });
    setOnline(true);
    state.store.learn(answer);
    sync();
  } catch (exc) {
    if (exc.status === 0) {
      setOnline(false);
      answer = state.store.prepared ? await state.store.admit(code, scanId, device)
        : { result: "refused", reason: "offline", attendee: null,
          message: "Offline, and no attendee list was downloaded for this event" };
    } else if (exc.status === 401) {
      api.logout();
      show("view-login");
      return;
    } else {
      answer = { result: "refused", reason: "error", message: exc.message, attendee: null };
    }
  }
  state.last = { code, at: Date.now() };
  showAnswer(answer);
  remember(answer);
  showQueue();
  refreshFigures();
}

async function openEvent(event) {
  state.event = event;
  sessionStorage.setItem(EVENT_KEY, JSON.stringify(event));
  state.store = new OfflineStore(event.id);
  $("scan-title").textContent = event.name;
  $("device").value = deviceName();
  show("view-scan");
  showQueue();
  refreshFigures();
  await prepare();
}

async function listEvents() {
  show("view-events");
  const events = await api.events();
  $("no-events").hidden = events.length > 0;
  $("event-list").replaceChildren(...events.map((event) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${event.name} — ${timeText(event["starts-at"])}`;
    button.addEventListener("click", () => openEvent(event));
    li.append(button);
    return li;
  }));
}

function wire() {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      await api.login($("login-email").value, $("login-password").value);
      await listEvents();
    } catch (exc) {
      $("login-error").textContent = exc.status === 0 ? exc.message : "Wrong email or password.";
    }
  });
  $("logout").addEventListener("click", () => {
    api.logout();
    if (state.camera) state.camera.stop();
    show("view-login");
  });
  $("change-event").addEventListener("click", () => {
    sessionStorage.removeItem(EVENT_KEY);
    listEvents();
  });
  $("prepare").addEventListener("click", prepare);
  $("device").addEventListener("change", () =>
    localStorage.setItem("openevent.checkin.device", $("device").value.trim()));
  $("manual").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("code").value;
    $("code").value = "";
    state.last = { code: null, at: 0 }; // typed: always checked
    handleCode(code);
  });
  $("camera").addEventListener("click", async () => {
    if (state.camera) {
      state.camera.stop();
      state.camera = null;
      $("camera").textContent = "Start camera";
      return;
    }
    try {
      state.camera = new Camera($("video"), handleCode);
      const decoder = await state.camera.start();
      $("decoder").textContent = `Scanning (${decoder})`;
      $("decoder").dataset.decoder = decoder;
      $("camera").textContent = "Stop camera";
    } catch (exc) {
      state.camera = null;
      flash(`The camera could not be started: ${exc.message}`);
    }
  });
  window.addEventListener("online", () => {
    setOnline(true);
    sync();
  });
  window.addEventListener("offline", () => setOnline(false));
  setInterval(sync, 3000);
}

async function start() {
  wire();
  setOnline(navigator.onLine);
  if (!api.token()) {
    show("view-login");
    return;
  }
  const saved = JSON.parse(sessionStorage.getItem(EVENT_KEY) || "null");
  try {
    if (saved) await openEvent(saved);
    else await listEvents();
  } catch (exc) {
    if (exc.status === 401) api.logout();
    show("view-login");
  }
}

start();
