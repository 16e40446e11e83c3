// Live page: state pushed by SSE (/api/events), a 2 s poll of /api/status when it drops,
// controls posted to /api/control, and a soft browser chime for staff check-ins.
"use strict";

const PHASE_COLORS = ["#5a6e84", "#5f7a5c", "#8a7452", "#7d5f72", "#5b7d7d", "#7a6c55", "#6b6388"];
const live = { status: null, lastPush: 0, polling: false, heard: new Map(), audio: null };

// ---------------------------------------------------------------- the chime

function unlockAudio() {
  if (!live.audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    live.audio = new Ctx();
  }
  live.audio.resume();
  document.getElementById("sound-state").textContent = "Staff chime in this browser: on.";
}

// A soft bell: a few inharmonic partials, slow attack, long decay, low level.
function chime() {
  document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  const ctx = live.audio;
  if (!ctx || ctx.state !== "running") return;
  const t0 = ctx.currentTime + 0.02;
  const master = ctx.createGain();
  master.gain.value = 0.12;
  master.connect(ctx.destination);
  for (const [ratio, amp, decay] of [[1, 1, 3.5], [2.76, 0.35, 2.2], [5.4, 0.12, 1.2]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 528 * ratio;
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(amp, t0 + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + decay);
    osc.connect(gain).connect(master);
    osc.start(t0);
    osc.stop(t0 + decay + 0.1);
  }
}

// Chime once per staff check-in and again at each reminder.
function chimeForPending(pending) {
  const seen = new Map();
  for (const p of pending) {
    seen.set(p.id, p.escalations);
    if (p.audience !== "staff" && p.audience !== "both") continue;
    const before = live.heard.get(p.id);
    if (before === undefined || p.escalations > before) chime();
  }
  live.heard = seen;
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

function render(s) {
  live.status = s;
  if (window.renderClinical) window.renderClinical(s);  // vitals.js: alerts, dose, the pad
  renderSound(s.audio_faults || []);
  const running = Boolean(s.running) && !s.ended;
  document.getElementById("live").dataset.running = String(running);
  document.getElementById("no-session").hidden = running;
  for (const b of document.querySelectorAll(".controls button, #btn-note")) b.disabled = !running;
  if (!s.phases) {
    for (const id of ["phase-name", "elapsed", "remaining", "level", "now-playing"]) setText(id, "–");
    document.getElementById("checkin-banner").hidden = true;
    document.getElementById("phase-bar").replaceChildren();
    return;
  }
  document.getElementById("live").dataset.phase = s.phase;
  setText("phase-name", s.phase_name || s.phase);
  setText("elapsed", clock(s.t));
  setText("remaining", s.remaining === null || s.remaining === undefined ? "open" : clock(s.remaining));
  setText("level", `${Math.round((s.level || 0) * 100)}%`);
  let playing = "silence";
  if (s.music === "held") playing = "music held";
  else if (s.music === "quiet") playing = "QUIET";
  else if (s.music === "no_sound") playing = `NOT HEARD${s.now_playing ? ": " + s.now_playing.title : ""}`;
  else if (s.now_playing) playing = s.now_playing.title;
  setText("now-playing", playing);
  const next = s.next_checkin;
  setText("next-checkin", next ? `next ${next.kind} in ${clock(next.t - s.t)}` : "");
  const extendable = (s.extendable_left || 0) > 0;
  document.getElementById("btn-extend-5").disabled = !running || !extendable;
  document.getElementById("btn-extend-10").disabled = !running || !extendable;
  renderPhaseBar(s);
  const pending = s.pending || [];
  const banner = document.getElementById("checkin-banner");
  banner.hidden = pending.length === 0;
  if (pending.length) {
    const first = pending[0];
    banner.dataset.checkin = first.id;
    const more = pending.length > 1 ? ` (+${pending.length - 1} more)` : "";
    const again = first.escalations ? ` — reminder ${first.escalations}` : "";
    setText("checkin-message",
      `${first.kind}${first.message ? ": " + first.message : ""} (due ${clock(first.due_t)})${again}${more}`);
  }
  chimeForPending(pending);
}

// ---------------------------------------------------------------- controls

const CONFIRMATIONS = {
  pause: "Music held", resume: "Music resumed", extend: "Phase extended", next: "Moving on",
  skip: "Track skipped", quiet: "QUIET: music down", ack: "Check-in acknowledged",
  note: "Note saved", stop: "Session stopping", dose: "Dose recorded", ready: "Ready to leave",
};

async function control(action, value) {
  const body = value === undefined ? { action } : { action, value };
  const result = await api("POST", "/api/control", body);
  if (result.ok) {
    if (action === "level") toast(`Level ${value}`);
    else toast(CONFIRMATIONS[action] || action);
  } else {
    toast(errorText(result), "refused");
  }
  return result;
}

function bindControls() {
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "stop") document.getElementById("stop-confirm").hidden = true;
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
  document.getElementById("btn-ack").addEventListener("click", () => {
    control("ack", document.getElementById("checkin-banner").dataset.checkin);
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

async function poll() {
  if (live.polling) return;
  live.polling = true;
  const result = await api("GET", "/api/status");
  live.polling = false;
  if (result.ok) render(result.data);
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("status", (e) => {
    live.lastPush = Date.now();
    render(JSON.parse(e.data));
  });
  source.addEventListener("session", (e) => {
    const event = JSON.parse(e.data);
    if (event.type === "control_refused") toast(event.reason, "refused");
  });
  // EventSource reconnects by itself; meanwhile the watchdog below polls.
  setInterval(() => {
    if (Date.now() - live.lastPush > 2500 && Date.now() - (live.lastPoll || 0) >= 2000) {
      live.lastPoll = Date.now();
      document.getElementById("live").dataset.feed = "poll";
      poll();
    } else if (Date.now() - live.lastPush <= 2500) {
      document.getElementById("live").dataset.feed = "sse";
    }
  }, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  bindControls();
  document.addEventListener("pointerdown", unlockAudio, { once: false, passive: true });
  poll();
  connect();
});
