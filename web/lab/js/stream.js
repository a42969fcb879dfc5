// A live stream of one instrument over the lab's WebSocket (docs/lab-streams.md).
//
// The login token is offered as a WebSocket subprotocol ("jwt.<token>"), never in the URL.
// The server answers with JSON messages; `on(kind, handler)` receives them. Frames are
// handed on at most once per animation frame: if several arrive in between, the newest wins.

import * as api from "./api.js";

const PING_MS = 30000;

// Where the stream is: <meta name="openevent-lab-stream"> when it names a place (in AWS the
// WebSocket API's own wss:// URL, written in at upload by infra/), else this page's own
// origin (the local runtime serves the WebSocket beside the console). A relative or http(s)
// URL becomes ws(s) like the page; a ws:// or wss:// one is kept as it is.
export function streamUrl() {
  const meta = document.querySelector('meta[name="openevent-lab-stream"]');
  const configured = meta ? meta.content.trim() : "";
  const url = new URL(configured || "../v1/lab/stream", location.href);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  return url.href;
}

export class LabStream {
  constructor() {
    this.handlers = {};
    this.ws = null;
    this.pending = null; // newest frame not drawn yet
    this.raf = 0;
    this.want = null; // the open message to (re)send once connected
    this.pinger = 0;
    this.framesReceived = 0;
  }

  on(kind, handler) {
    this.handlers[kind] = handler;
    return this;
  }

  emit(kind, message) {
    const handler = this.handlers[kind];
    if (handler) handler(message);
  }

  open(device, instrument, settings) {
    this.want = { action: "open", device, instrument, settings };
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(this.want));
      return;
    }
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    this.connect();
  }

  connect() {
    const token = api.token();
    if (!token) {
      this.emit("closed", { kind: "closed", reason: "not logged in" });
      return;
    }
    const ws = new WebSocket(streamUrl(), ["openevent-lab.v1", `jwt.${token}`]);
    this.ws = ws;
    ws.onopen = () => {
      if (this.want) ws.send(JSON.stringify(this.want));
      clearInterval(this.pinger);
      this.pinger = setInterval(() => {
        if (document.visibilityState === "visible" && ws.readyState === WebSocket.OPEN) {
          ws.send('{"action":"ping"}');
        }
      }, PING_MS);
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.kind === "frame") {
        this.framesReceived += 1;
        message.receivedAt = Date.now() / 1000;
        this.pending = message;
        if (!this.raf) {
          this.raf = requestAnimationFrame(() => {
            this.raf = 0;
            const frame = this.pending;
            this.pending = null;
            if (frame) this.emit("frame", frame);
          });
        }
        return;
      }
      this.emit(message.kind, message);
    };
    ws.onclose = (event) => {
      clearInterval(this.pinger);
      if (this.ws === ws) this.ws = null;
      this.emit("disconnected", { code: event.code, reason: event.reason });
    };
    ws.onerror = () => {}; // onclose follows and says what happened
  }

  // Stop the stream (the connection stays for the next Run).
  stop() {
    this.want = null;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send('{"action":"close"}');
  }

  // Leave for good: the server stops the capture when its last viewer has gone.
  close() {
    this.want = null;
    clearInterval(this.pinger);
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, "left");
    }
  }
}
