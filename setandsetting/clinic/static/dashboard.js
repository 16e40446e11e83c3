// The clinic dashboard: every room over SSE (/api/stream), what needs staff first, a staff
// chime in this browser, and acks sent to the room (which decides, journals, and pushes).
"use strict";

const dash = { rooms: new Map(), offset: 0, heard: new Map(), sent: new Set() };

// ---------------------------------------------------------------- the chime (common.js)

function unlockAudio() {
  if (unlockBell()) document.getElementById("btn-sound").textContent = "Staff chime in this browser: on";
}

// Once per staff check-in of any room, and again when it becomes overdue.
function chimeForNeeds(items) {
  const seen = new Map();
  for (const item of items) {
    const key = `${item.room}/${item.id}`;
    seen.set(key, item.overdue);
    if (item.audience !== "staff" && item.audience !== "both" && !item.alert) continue;
    const before = dash.heard.get(key);
    if (before === undefined || (item.overdue && !before)) ringBell();
  }
  dash.heard = seen;
}

// ---------------------------------------------------------------- rendering

function now() { return Date.now() + dash.offset; }
function since(wall) { return wall ? clock((now() - Date.parse(wall)) / 1000) : "–"; }

function needs() {
  const items = [];
  for (const room of dash.rooms.values()) {
    for (const a of room.alerts || []) {
      items.push({ room: room.room, id: `alert-${a.t}`, alert: true, overdue: true,
        kind: "vitals alert", message: `${a.what}: ${a.value} (threshold ${a.threshold})`,
        due_wall: a.wall, patient: room.patient, session: room.session });
    }
    for (const p of room.pending_checkins || []) {
      items.push({ ...p, room: room.room, patient: room.patient, session: room.session });
    }
  }
  // Alerts and overdue first, then the longest waiting.
  items.sort((a, b) => (b.overdue - a.overdue) || String(a.due_wall).localeCompare(String(b.due_wall)));
  return items;
}

// The ack form: the check-in it is for, and BP/HR/SpO2 as the room's `ack` words.
let acking = null;

function openAck(item) {
  acking = item;
  const form = document.getElementById("ack-form");
  form.reset();
  document.getElementById("ack-for").textContent = `Acknowledge ${item.room} · ${item.kind}`;
  form.hidden = false;
  document.getElementById("ack-bp").focus();
}

function ackWords() {
  const words = [];
  for (const m of ["bp", "hr", "spo2"]) {
    const v = document.getElementById(`ack-${m}`).value.replace(/\s+/g, "");
    if (v) words.push(`${m}=${v}`);
  }
  return words.join(" ");
}

async function sendAck(event) {
  event.preventDefault();
  const item = acking;
  if (!item) return;
  const send = document.getElementById("ack-send");
  send.disabled = true;
  const result = await api("POST", `/api/rooms/${encodeURIComponent(item.room)}/ack`,
    { checkin: item.id, session: item.session, readings: ackWords() });
  send.disabled = false;
  if (result.ok) {
    dash.sent.add(`${item.room}/${item.id}`);
    document.getElementById("ack-form").hidden = true;
    acking = null;
    toast(`Sent to ${item.room}; it clears here once the room has journaled it.`);
    render();
  } else {
    toast(errorText(result), "refused");
  }
}

function renderNeeds() {
  const items = needs();
  chimeForNeeds(items);
  document.getElementById("needs-none").hidden = items.length > 0;
  document.getElementById("needs-list").replaceChildren(...items.map((item) => {
    const key = `${item.room}/${item.id}`;
    const button = item.alert ? null : el("button", { type: "button", class: "btn-ack",
      "data-room": item.room, "data-checkin": item.id, disabled: dash.sent.has(key) },
      dash.sent.has(key) ? "Sent" : "Acknowledge");
    if (button) button.addEventListener("click", () => openAck(item));
    const cls = item.alert ? "alert" : item.overdue ? "overdue" : "";
    return el("li", { class: cls, "data-room": item.room, "data-checkin": item.id },
      el("span", { class: "what" }, `${item.room} · ${item.patient || ""} · ${item.kind}: ${item.message || ""}`),
      el("span", { class: "muted" }, `${item.overdue ? "OVERDUE, " : ""}waiting ${since(item.due_wall)}`),
      button);
  }));
}

function fact(label, value, cls) {
  return [el("span", { class: "muted" }, label), el("span", { class: cls || "" }, value)];
}

function renderRooms() {
  const cards = [...dash.rooms.values()].sort((a, b) => a.room.localeCompare(b.room)).map((r) => {
    const next = r.next_checkin;
    const waiting = (r.pending_checkins || []).length;
    return el("article", { class: "room-card", "data-room": r.room },
      el("h3", {}, r.room),
      el("div", { class: "facts" },
        ...fact("link", r.link === "up" ? "connected" : `down, last heard ${since(r.last_seen)} ago`,
          r.link === "up" ? "" : "link-down"),
        ...fact("patient", r.running ? r.patient : "no session"),
        ...fact("profile", r.running ? r.profile : "–"),
        ...fact("phase", r.phase ? `${r.phase} for ${since(r.phase_since)}` : "–"),
        ...fact("next check-in", next ? `${next.kind} in ${clock((Date.parse(next.wall) - now()) / 1000)}` : "–"),
        ...fact("waiting", waiting ? `${waiting} check-in(s)` : "none", waiting ? "waiting" : "")));
  });
  document.getElementById("rooms").replaceChildren(...cards);
}

function render() {
  renderNeeds();
  renderRooms();
}

// ---------------------------------------------------------------- the stream

function connect() {
  const source = new EventSource("/api/stream");
  const state = document.getElementById("stream-state");
  source.addEventListener("rooms", (message) => {
    const data = JSON.parse(message.data);
    dash.offset = Date.parse(data.now) - Date.now();
    dash.rooms = new Map(data.rooms.map((r) => [r.room, r]));
    state.textContent = "live";
    render();
  });
  source.addEventListener("room", (message) => {
    const room = JSON.parse(message.data);
    dash.rooms.set(room.room, room);
    render();
  });
  source.onerror = () => { state.textContent = "reconnecting…"; };
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("btn-sound").addEventListener("click", unlockAudio);
  document.getElementById("ack-form").addEventListener("submit", sendAck);
  document.getElementById("ack-cancel").addEventListener("click", () => {
    document.getElementById("ack-form").hidden = true;
    acking = null;
  });
  connect();
  setInterval(render, 1000);  // the clocks count on between pushes
});
