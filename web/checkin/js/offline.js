// Offline check-in: before doors open the page keeps the event's public keys and attendee
// list (names, ticket names, versions, states — nothing else) in localStorage; with the
// network down it verifies a code's signature, admits against that list, and queues the
// check-in. When the network is back the queue is sent with each scan's own id and time;
// an answer other than "admitted" (the ticket was admitted on another device meanwhile, or
// refused) is kept as a conflict to show.

import * as codes from "./codes.js";

const PREFIX = "openevent.checkin.event.";

export class OfflineStore {
  // Two records: the downloaded list (written once, at prepare) and the small state this
  // device changes at every offline admission (its own admissions, the queue, conflicts), so
  // an admission writes a few hundred bytes, not the whole list.
  constructor(eventId) {
    this.eventId = String(eventId);
    this.key = PREFIX + this.eventId;
    this.data = JSON.parse(localStorage.getItem(`${this.key}.list`) || "null")
      || { keys: [], attendees: {}, preparedAt: null };
    this.state = JSON.parse(localStorage.getItem(`${this.key}.state`) || "null")
      || { local: {}, queue: [], conflicts: [] };
    this.imported = null;
  }

  save() {
    localStorage.setItem(`${this.key}.state`, JSON.stringify(this.state));
  }

  get prepared() {
    return Boolean(this.data.preparedAt);
  }

  prepare(keys, attendees) {
    const byId = {};
    for (const a of attendees) byId[a.id] = a;
    this.data = { keys, attendees: byId, preparedAt: new Date().toISOString() };
    this.imported = null;
    localStorage.setItem(`${this.key}.list`, JSON.stringify(this.data));
  }

  async publicKeys() {
    if (!this.imported) this.imported = await codes.importKeys(this.data.keys);
    return this.imported;
  }

  // Who is in, as far as this device knows: the list's answer or its own admissions since.
  inside(entry) {
    const local = this.state.local[entry.id];
    if (local) return local;
    return entry["checked-in"] ? { at: entry["checked-in-at"], device: entry.device } : null;
  }

  // An answer from the server updates what this device knows (for offline mode).
  learn(answer) {
    const entry = answer.attendee && this.data.attendees[answer.attendee.id];
    if (!entry) return;
    if (answer.result === "admitted" || answer.result === "already-in") {
      this.state.local[entry.id] = { at: answer["checked-in-at"], device: answer.device };
      this.save();
    }
  }

  // Decide a scan locally: the same answer shape as the server's.
  async admit(code, scanId, device) {
    let claim;
    try {
      claim = await codes.verify(code, await this.publicKeys());
    } catch (exc) {
      return { result: "refused", reason: "invalid", message: "Not a valid ticket (forged or damaged)", attendee: null };
    }
    if (claim.eventId !== this.eventId) {
      return { result: "refused", reason: "other-event", message: "This ticket is for another event", attendee: null };
    }
    const entry = this.data.attendees[claim.attendeeId];
    if (!entry || entry["ticket-id"] !== claim.ticketId) {
      return { result: "refused", reason: "cancelled", message: "This ticket is not on the attendee list", attendee: null };
    }
    const person = { id: entry.id, name: entry.name, ticket: entry.ticket };
    if (entry.version !== claim.version) {
      return { result: "refused", reason: "reissued", message: "This ticket was reissued: only the newest one admits", attendee: person };
    }
    if (entry.state !== "admissible") {
      return { result: "refused", reason: entry.state, message: `This ticket's order is ${entry.state}`, attendee: person };
    }
    const inside = this.inside(entry);
    if (inside) {
      return { result: "already-in", reason: "already-in", message: "Already checked in", attendee: person,
        "checked-in-at": inside.at, device: inside.device };
    }
    const at = new Date().toISOString();
    this.state.local[entry.id] = { at, device };
    this.state.queue.push({ code, "scan-id": scanId, device, "scanned-at": at, attendee: person });
    this.save();
    return { result: "admitted", reason: null, message: "Admitted (offline, will sync)", attendee: person,
      "checked-in-at": at, device, offline: true };
  }

  get queued() {
    return this.state.queue.length;
  }

  // Send the queue (oldest first); stops at the first network failure. `send(body)` posts one.
  async sync(send) {
    let synced = 0;
    while (this.state.queue.length) {
      const item = this.state.queue[0];
      let answer;
      try {
        answer = await send({ code: item.code, "scan-id": item["scan-id"], device: item.device,
          "scanned-at": item["scanned-at"] });
      } catch (exc) {
        if (exc.status === 0) break; // still offline: keep the rest queued
        answer = { result: "refused", reason: "error", message: exc.message, attendee: item.attendee };
      }
      this.state.queue.shift();
      if (answer.result !== "admitted") {
        this.state.conflicts.push({ attendee: item.attendee, ours: item["scanned-at"], device: item.device,
          answer });
        this.learn(answer);
      }
      synced += 1;
      this.save();
    }
    return synced;
  }

  get conflicts() {
    return this.state.conflicts;
  }
}
