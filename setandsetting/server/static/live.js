// Live page: state pushed by SSE (/api/events), a 2 s poll of /api/status when it drops,
// controls posted to /api/control, and a soft browser chime for staff check-ins.
// Every status is a heartbeat (the stream sends one at least every second): 3 s without one
// and the page says it is not live, disables its controls and reconnects by itself. Each
// control carries the moment it was pressed (pressed_at, in the daemon's clock), so the
// daemon refuses one that waited too long instead of applying it late.
"use strict";

const PHASE_COLORS = ["#5a6e84", "#5f7a5c", "#8a7452", "#7d5f72", "#5b7d7d", "#7a6c55", "#6b6388"];
const STALE_MS = 3000;  // no heartbeat for this long: not live
const RECONNECT_MS = 2000;  // while not live, a fresh event stream this often
const live = {
  status: null, lastPush: 0, polling: false, heard: new Map(),
  lastBeat: 0, offset: 0, stale: false, source: null, lastConnect: 0, dismissing: null,
};

// ---------------------------------------------------------------- the chime

function unlockAudio() {
  if (unlockBell()) document.getElementById("sound-state").textContent = "Staff chime in this browser: on.";
}

// Chime once per staff check-in and again at each reminder.
function chimeForPending(pending) {
  const seen = new Map();
  for (const p of pending) {
    seen.set(p.id, p.escalations);
    if (p.audience !== "staff" && p.audience !== "both") continue;
    const before = live.heard.get(p.id);
    if (before === undefined || p.escalations > before) ringBell();
  }
  live.heard = seen;
}

// ---------------------------------------------------------------- time

// The daemon's clock, as this browser knows it (the offset is measured on each status).
function daemonNow() { return new Date(Date.now() + live.offset); }

// A moment as this browser's local time, the zone named (common.js's localTime).
function local(date) { return localTime(date.toISOString(), false); }

// A session time as the local wall time it falls at.
function wallAt(s, t) {
  if (!s.started_wall || t === null || t === undefined) return "";
  return local(new Date(Date.parse(s.started_wall) + t * 1000));
}

// 150 -> "2m30s", 120 -> "2m", 45 -> "45s": how extensions are written.
function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60), r = s % 60;
  if (!m) return `${r}s`;
  return r ? `${m}m${String(r).padStart(2, "0")}s` : `${m}m`;
}

// ---------------------------------------------------------------- rendering

function setText(id, text) { document.getElementById(id).textContent = text; }

function renderPhaseBar(s) {
  const bar = document.getElementById("phase-bar");
  const phases = s.phases || [];
  let total = s.t || 0;
  for (const p of phases) {
    if (p.planned_end !== null && p.planned_end !== undefined) total = Math.max(total, p.planned_end);
  }
  if (s.phase_end !== null && s.phase_end !== undefined) total = Math.max(total, s.phase_end);
  total = Math.max(total * 1.05, 60);
  const pct = (t) => `${(100 * Math.min(Math.max(t, 0), total)) / total}%`;
  const lane = (name, segs) => el("div", { class: "lane", "data-lane": name },
    el("span", { class: "lane-name", text: name }), ...segs);
  const planned = phases.map((p, i) => {
    const end = p.planned_end ?? total;
    return el("div", {
      class: "seg planned", "data-phase": p.id, title: `${p.name}: planned ${clock(p.planned_start)}–${p.planned_end === null ? "open" : clock(p.planned_end)}`,
      style: `left:${pct(p.planned_start)};width:calc(${pct(end)} - ${pct(p.planned_start)});background:${PHASE_COLORS[i % PHASE_COLORS.length]}`,
      text: p.id,
    });
  });
  const actual = [];
  phases.forEach((p, i) => {
    if (p.start === null || p.start === undefined) return;
    const next = phases[i + 1];
    const current = i === s.phase_index;
    const end = next && next.start !== null && next.start !== undefined ? next.start
      : (current && s.phase_end !== null && s.phase_end !== undefined ? s.phase_end : s.t);
    actual.push(el("div", {
      class: `seg actual${current ? " current" : ""}`, "data-phase": p.id,
      title: `${p.name}: started ${clock(p.start)}`,
      style: `left:${pct(p.start)};width:calc(${pct(end)} - ${pct(p.start)});background:${PHASE_COLORS[i % PHASE_COLORS.length]}`,
      text: p.id,
    }));
  });
  const now = () => el("div", { class: "now", style: `left:${pct(s.t)}` });
  bar.replaceChildren(lane("planned", [...planned, now()]), lane("actual", [...actual, now()]));
}

// No sound reaching an output: a banner the whole width of the page, never "playing".
const OUTPUT_TEXT = { music: "music", patient_chimes: "patient chimes", staff_chimes: "staff chimes" };

function renderSound(faults) {
  document.getElementById("sound-banner").hidden = faults.length === 0;
  setText("sound-why", faults.map((f) => `${OUTPUT_TEXT[f.output] || f.output}: ${f.why}`).join(" · "));
}

// Who is in the room and where the session stands: one glance.
function renderContext(s) {
  setText("ctx-patient", s.display_name ? `${s.patient} · ${s.display_name}` : s.patient || "–");
  setText("ctx-profile", s.profile_name || s.profile || "–");
  setText("ctx-dose", s.dose_t === null || s.dose_t === undefined ? "not yet" : clock(s.t - s.dose_t));
  setText("ctx-end", s.session_end === null || s.session_end === undefined ? "open (when you stop)"
    : `${clock(s.session_end)} · ${wallAt(s, s.session_end)}`);
  const up = s.next_phase;
  setText("ctx-next-phase", up ? `${up.name} at ${clock(up.t)} · ${wallAt(s, up.t)}` : "last phase");
  const next = s.next_checkin;
  const where = next && next.phase !== s.phase ? ` (${next.phase})` : "";
  setText("ctx-next-checkin", next ? `${next.kind} in ${clock(next.t - s.t)}${where}` : "none planned");
  setText("next-checkin", next ? `next ${next.kind} in ${clock(next.t - s.t)}${where}` : "");
}

// Every waiting check-in, oldest first, until it is acknowledged or dismissed: rows are
// updated in place, so a button under a finger is never replaced mid-touch.
function renderCheckins(s) {
  const pending = s.pending || [];
  const banner = document.getElementById("checkin-banner");
  const list = document.getElementById("checkin-list");
  banner.hidden = pending.length === 0;
  banner.dataset.checkin = pending.length ? pending[0].id : "";
  const keep = new Set(pending.map((p) => p.id));
  for (const row of [...list.children]) if (!keep.has(row.dataset.checkin)) row.remove();
  pending.forEach((p, i) => {
    let row = list.querySelector(`li[data-checkin="${CSS.escape(p.id)}"]`);
    if (!row) {
      row = el("li", { class: "checkin-row", "data-checkin": p.id },
        el("span", { class: "message" }),
        el("button", { class: "ack", text: "Acknowledge", onclick: () => control("ack", p.id) }),
        el("button", { class: "dismiss", text: "Dismiss…", onclick: () => askDismiss(p) }));
      list.append(row);
    }
    if (list.children[i] !== row) list.insertBefore(row, list.children[i]);
    const first = i === 0;
    row.querySelector(".message").id = first ? "checkin-message" : "";
    row.querySelector("button.ack").id = first ? "btn-ack" : "";
    row.querySelector("button.dismiss").id = first ? "btn-dismiss" : "";
    const again = p.escalations ? ` — reminder ${p.escalations}` : "";
    const away = p.phase !== s.phase ? ` in ${p.phase}` : "";
    row.querySelector(".message").textContent = `${p.kind}${p.message ? ": " + p.message : ""}`
      + ` (due ${clock(p.due_t)}${away}, ${clock(p.overdue_s)} overdue)${again}`;
  });
  chimeForPending(pending);
}

// Held and quiet are latched: the button shows it, and the level says so instead of a
// figure that would sound as if music were playing.
function renderMusic(s) {
  const held = s.music === "held", quiet = s.music === "quiet";
  document.getElementById("btn-hold").setAttribute("aria-pressed", String(held));
  document.getElementById("btn-quiet").setAttribute("aria-pressed", String(quiet));
  setText("btn-hold", held ? "Music held" : "Hold music");
  const figure = `${Math.round((s.level || 0) * 100)}%`;
  setText("level", held ? "held" : quiet ? "QUIET" : figure);
  setText("level-note", held || quiet ? `music returns at ${figure}` : "");
  let playing = "silence";
  if (held) playing = "music held";
  else if (quiet) playing = "QUIET";
  else if (s.music === "no_sound") playing = `NOT HEARD${s.now_playing ? ": " + s.now_playing.title : ""}`;
  else if (s.now_playing) playing = s.now_playing.title;
  setText("now-playing", playing);
}

// Extend offers what the phase may still take: +5 and +10 min, or what is left, "(max)".
function extendOffers(left) {
  if (left <= 0) return [];
  if (left >= 600) return [300, 600];
  return left > 300 ? [300, left] : [left];
}

function renderExtend(s) {
  const left = Math.floor(s.extendable_left || 0);
  const offers = s.remaining === null || s.remaining === undefined ? [] : extendOffers(left);
  ["btn-extend-5", "btn-extend-10"].forEach((id, i) => {
    const b = document.getElementById(id), by = offers[i];
    b.hidden = i > 0 && by === undefined;
    b.dataset.none = String(by === undefined);
    b.dataset.value = by === undefined ? "" : `${by}s`;
    b.textContent = by === undefined ? "Extend: none left"
      : `Extend +${duration(by)}${by === left ? " (max)" : ""}`;
  });
}

function enabled() {
  return Boolean(live.status && live.status.running && !live.status.ended) && !live.stale;
}

function setControls() {
  const on = enabled();
  for (const b of document.querySelectorAll(".controls button, #btn-note, #checkin-banner button,"
    + " #dismiss-box button, #next-confirm button, #stop-confirm button")) {
    b.disabled = !on || b.dataset.none === "true";
  }
  if (!on) for (const id of ["btn-stop-cancel", "btn-next-cancel", "btn-dismiss-cancel"]) {
    document.getElementById(id).disabled = false;
  }
}

// The clinic hub out of reach: the room plays on; the staff should know the dashboard lags.
function renderClinic(link) {
  document.getElementById("clinic-banner").hidden = !link || link.up;
  if (!link || link.up) return;
  const waiting = link.pending ? `; ${link.pending} event(s) kept for it` : "";
  setText("clinic-why", `since ${link.since} (${link.why})${waiting}`);
}

function render(s) {
  live.status = s;
  if (window.renderClinical) window.renderClinical(s);  // vitals.js: alerts, dose, the pad
  renderSound(s.audio_faults || []);
  renderClinic(s.clinic);
  const running = Boolean(s.running) && !s.ended;
  document.getElementById("live").dataset.running = String(running);
  document.getElementById("no-session").hidden = running;
  if (!s.phases) {
    for (const id of ["phase-name", "elapsed", "remaining", "level", "now-playing"]) setText(id, "–");
    document.getElementById("checkin-banner").hidden = true;
    document.getElementById("phase-bar").replaceChildren();
    setControls();
    return;
  }
  document.getElementById("live").dataset.phase = s.phase;
  setText("phase-name", s.phase_name || s.phase);
  setText("elapsed", clock(s.t));
  setText("remaining", s.remaining === null || s.remaining === undefined ? "open" : clock(s.remaining));
  renderContext(s);
  renderMusic(s);
  renderExtend(s);
  renderPhaseBar(s);
  renderCheckins(s);
  setControls();
}

// ---------------------------------------------------------------- controls

const CONFIRMATIONS = {
  pause: "Music held", resume: "Music resumed", extend: "Phase extended", next: "Moving on",
  skip: "Track skipped", quiet: "QUIET: music down", ack: "Check-in acknowledged",
  dismiss: "Check-in dismissed", note: "Note saved", stop: "Session stopping",
  dose: "Dose recorded", ready: "Ready to leave",
};

// What the daemon did, in words, when it did something else than asked (an extension cut
// to what the phase may still take; check-ins left waiting by moving on).
function answerText(action, value, data) {
  const events = (data && data.events) || [];
  const extended = events.find((e) => e.type === "phase_extended");
  if (extended) {  // staff must not believe the five minutes they pressed were all added
    const span = (s) => (s % 60 === 0 ? `${s / 60} min` : clock(s));
    const most = extended.asked_s ? ` (asked ${span(extended.asked_s)}: the most it may still take)` : "";
    return `${CONFIRMATIONS.extend} by ${span(extended.by_s)}${most}`;
  }
  const advanced = events.find((e) => e.type === "phase_advanced");
  if (advanced && advanced.pending) return `Moving on; still waiting: ${advanced.pending.length} check-in(s)`;
  if (action === "level") {
    const button = document.querySelector(`[data-action=level][data-value="${value}"]`);
    return button ? button.textContent : `Level ${value}`;
  }
  return CONFIRMATIONS[action] || action;
}

async function control(action, value) {
  const body = { action, pressed_at: daemonNow().toISOString() };
  if (value !== undefined) body.value = value;
  const result = await api("POST", "/api/control", body);
  if (result.ok) toast(answerText(action, value, result.data));
  else toast(errorText(result), "refused");
  return result;
}

function askDismiss(p) {
  live.dismissing = p.id;
  setText("dismiss-what", `${p.kind} (due ${clock(p.due_t)})`);
  document.getElementById("dismiss-box").hidden = false;
  document.getElementById("dismiss-reason").focus();
}

function bindControls() {
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "stop") document.getElementById("stop-confirm").hidden = true;
      if (action === "next") document.getElementById("next-confirm").hidden = true;
      control(action, button.dataset.value);
    });
  }
  let stopTimer = null;
  document.getElementById("btn-stop").addEventListener("click", () => {
    const box = document.getElementById("stop-confirm");
    box.hidden = false;
    clearTimeout(stopTimer);
    stopTimer = setTimeout(() => { box.hidden = true; }, 10000);
  });
  document.getElementById("btn-stop-cancel").addEventListener("click", () => {
    document.getElementById("stop-confirm").hidden = true;
  });
  // Next with required check-ins waiting asks first: they stay on screen, but say so.
  document.getElementById("btn-next").addEventListener("click", () => {
    const pending = (live.status && live.status.pending) || [];
    if (!pending.length) { control("next"); return; }
    const kinds = pending.map((p) => p.kind).join(", ");
    setText("next-why", `${pending.length} check-in(s) still waiting (${kinds}). Move on anyway? They stay on screen until answered.`);
    document.getElementById("next-confirm").hidden = false;
  });
  document.getElementById("btn-next-cancel").addEventListener("click", () => {
    document.getElementById("next-confirm").hidden = true;
  });
  document.getElementById("btn-dismiss-confirm").addEventListener("click", async () => {
    const reason = document.getElementById("dismiss-reason").value.trim();
    if (!reason) { toast("Say why it is not done", "refused"); return; }
    const result = await control("dismiss", `${live.dismissing} ${reason}`);
    if (result.ok) {
      document.getElementById("dismiss-box").hidden = true;
      document.getElementById("dismiss-reason").value = "";
    }
  });
  document.getElementById("btn-dismiss-cancel").addEventListener("click", () => {
    document.getElementById("dismiss-box").hidden = true;
  });
  document.getElementById("btn-note").addEventListener("click", async () => {
    const box = document.getElementById("note-text");
    const text = box.value.trim();
    if (!text) { toast("Write the note first", "refused"); return; }
    const result = await control("note", text);
    if (result.ok) box.value = "";
  });
}

// ---------------------------------------------------------------- the feed

// A status arrived (pushed or polled): the heartbeat. Its `wall` sets the daemon's clock.
function beat(s) {
  live.lastBeat = Date.now();
  if (s.wall) live.offset = Date.parse(s.wall) - Date.now();
  if (live.stale) {
    live.stale = false;
    document.getElementById("live").dataset.live = "live";
    showBanner("recovered", "Live again", `reconnected at ${local(daemonNow())}`);
    clearTimeout(live.recoveredTimer);
    live.recoveredTimer = setTimeout(() => {
      if (!live.stale) document.getElementById("stale-banner").hidden = true;
    }, 5000);
  }
  render(s);
}

function showBanner(state, title, detail) {
  const banner = document.getElementById("stale-banner");
  banner.dataset.state = state;
  setText("stale-title", title);
  setText("stale-detail", detail);
  banner.hidden = false;
}

// No heartbeat for STALE_MS: say so across the page, disable every control, reconnect.
function goStale() {
  const since = local(new Date(live.lastBeat + live.offset));
  if (!live.stale) {
    live.stale = true;
    live.reconnects = 0;
    document.getElementById("live").dataset.live = "stale";
    setControls();
  }
  if (Date.now() - live.lastConnect >= RECONNECT_MS) {
    live.reconnects += 1;
    connect();
  }
  showBanner("stale", "Not live",
    `last update ${since} · the room daemon does not answer; reconnecting (attempt ${live.reconnects})`);
}

async function poll() {
  if (live.polling) return;
  live.polling = true;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 2500);  // a frozen daemon must not hold the poll
  try {
    const response = await fetch("/api/status", { headers: { Accept: "application/json" },
      credentials: "same-origin", signal: ctl.signal });
    if (response.status === 401) location.href = "/login";
    else if (response.ok) beat(await response.json());
  } catch (err) {
    // not answering: the heartbeat watch says so
  } finally {
    clearTimeout(timer);
    live.polling = false;
  }
}

function connect() {
  if (live.source) live.source.close();
  live.lastConnect = Date.now();
  const source = new EventSource("/api/events");
  live.source = source;
  source.addEventListener("status", (e) => {
    live.lastPush = Date.now();
    beat(JSON.parse(e.data));
  });
  source.addEventListener("session", (e) => {
    const event = JSON.parse(e.data);
    if (event.type === "control_refused") toast(event.reason, "refused");
  });
}

function watch() {
  const now = Date.now();
  if (live.lastBeat && now - live.lastBeat > STALE_MS) goStale();
  if (now - live.lastPush > 2500 && now - (live.lastPoll || 0) >= 2000) {
    live.lastPoll = now;  // EventSource reconnects by itself; meanwhile, poll
    document.getElementById("live").dataset.feed = "poll";
    poll();
  } else if (now - live.lastPush <= 2500) {
    document.getElementById("live").dataset.feed = "sse";
  }
  setText("ctx-clock", local(daemonNow()));
}

document.addEventListener("DOMContentLoaded", () => {
  bindControls();
  document.addEventListener("pointerdown", unlockAudio, { once: false, passive: true });
  poll();
  connect();
  setInterval(watch, 250);
});
