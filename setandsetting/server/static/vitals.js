// Live page, the clinical record: the alert banner (with a chime in this browser, for the
// staff), the dose clock and the thresholds in force, the intention in the integration
// phase, the numeric pad for readings, the dose box, and the reason a stop before the
// discharge floor needs. live.js calls renderClinical(status) on every update.
"use strict";

const MEASURE_NAMES = { bp: "BP", hr: "HR", spo2: "SpO2", rr: "RR", sedation: "MOAA/S",
  dissociation: "Dissociation" };
const pad = { measure: "bp", values: {}, checkin: null, asked: [], session: null };
const SEEN_KEY = "sas-alerts-seen";

// ---------------------------------------------------------------- the alert banner

// Seen is remembered per session in this tab: a new session's alerts are all fresh.
function seenKey() { return `${SEEN_KEY}:${pad.session || ""}`; }
function seenUntil() { return Number(sessionStorage.getItem(seenKey()) || -1); }

function renderAlerts(alerts) {
  const fresh = alerts.filter((a) => a.t > seenUntil());
  const banner = document.getElementById("alert-banner");
  const before = Number(banner.dataset.count || 0);
  banner.hidden = fresh.length === 0;
  banner.dataset.count = String(fresh.length);
  if (!fresh.length) return;
  banner.dataset.until = String(fresh[fresh.length - 1].t);
  setText("alert-message", fresh.map((a) => `${a.message} (${clock(a.t)})`).join(" · "));
  if (fresh.length > before) ringBell();
}

// ---------------------------------------------------------------- the context

function renderClinical(s) {
  const c = s.clinical;
  if (!c) return;
  pad.session = s.session_id;
  renderAlerts(c.alerts || []);
  setText("since-dose", c.since_dose_s === null || c.since_dose_s === undefined
    ? "no dose yet" : clock(c.since_dose_s));
  setText("thresholds", (c.thresholds || []).join(", "));
  setText("ready-state", c.ready_t === null || c.ready_t === undefined
    ? "" : `ready to leave at ${clock(c.ready_t)}`);
  document.getElementById("intention-line").hidden = !c.intention;
  setText("intention", c.intention || "");
  const first = (s.pending || [])[0];
  pad.checkin = first ? first.id : null;
  pad.asked = first ? first.record || [] : [];
  for (const id of ["btn-vitals", "btn-dose", "btn-ready"]) {
    document.getElementById(id).disabled = !(s.running && !s.ended);
  }
}

// ---------------------------------------------------------------- the pad

function padText() {
  const parts = [];
  for (const [m, v] of Object.entries(pad.values)) if (v !== "") parts.push(`${m}=${v}`);
  return parts.join(" ");
}

function showPad() {
  const current = pad.values[pad.measure] ?? "";
  setText("pad-for", pad.checkin ? `Reading for ${pad.checkin}` : "Reading (no check-in waiting)");
  document.getElementById("pad-display").textContent =
    `${MEASURE_NAMES[pad.measure]}: ${current || "…"}` + (padText() ? `   —   ${padText()}` : "");
  for (const b of document.querySelectorAll("[data-measure]")) {
    b.setAttribute("aria-pressed", String(b.dataset.measure === pad.measure));
    b.classList.toggle("asked", pad.asked.includes(b.dataset.measure));
  }
  const yesNo = pad.measure === "dissociation";
  document.querySelector("#vitals-pad .pad-keys").hidden = yesNo;
  document.querySelector("#vitals-pad .pad-yes-no").hidden = !yesNo;
}

function openPad() {
  pad.values = {};
  pad.measure = pad.asked[0] || "bp";
  document.getElementById("vitals-pad").hidden = false;
  showPad();
}

function key(k) {
  let v = pad.values[pad.measure] ?? "";
  if (k === "back") v = v.slice(0, -1);
  else if (k === "/") { if (pad.measure === "bp" && v && !v.includes("/")) v += "/"; }
  else if (v.replace("/", "").length < 7) v += k;
  pad.values[pad.measure] = v;
  showPad();
}

async function savePad() {
  const readings = padText();
  const value = [pad.checkin, readings].filter(Boolean).join(" ");
  if (!value) { toast("Enter a reading first", "refused"); return; }
  const result = await control("ack", value);
  if (result.ok) document.getElementById("vitals-pad").hidden = true;
}

// ---------------------------------------------------------------- dose, stop's reason

const plainControl = control;
// A stop before the discharge floor is refused with the floor: ask the reason, then stop.
control = async function (action, value) {
  const result = await plainControl(action, value);
  if (action === "stop" && !result.ok && /give the reason/.test(errorText(result))) {
    setText("stop-reason-why", errorText(result));
    document.getElementById("stop-reason-box").hidden = false;
  }
  return result;
};

function bindClinical() {
  document.getElementById("btn-vitals").addEventListener("click", openPad);
  document.getElementById("pad-cancel").addEventListener("click", () => {
    document.getElementById("vitals-pad").hidden = true;
  });
  document.getElementById("pad-save").addEventListener("click", savePad);
  for (const b of document.querySelectorAll("[data-measure]")) {
    b.addEventListener("click", () => { pad.measure = b.dataset.measure; showPad(); });
  }
  for (const b of document.querySelectorAll("[data-key]")) {
    b.addEventListener("click", () => key(b.dataset.key));
  }
  for (const b of document.querySelectorAll("#vitals-pad [data-answer]")) {
    b.addEventListener("click", () => { pad.values.dissociation = b.dataset.answer; showPad(); });
  }
  document.getElementById("btn-alert-seen").addEventListener("click", () => {
    const banner = document.getElementById("alert-banner");
    sessionStorage.setItem(seenKey(), banner.dataset.until || "-1");
    banner.hidden = true;
    banner.dataset.count = "0";
  });
  document.getElementById("btn-dose").addEventListener("click", () => {
    const box = document.getElementById("dose-box");
    box.hidden = !box.hidden;
  });
  document.getElementById("dose-save").addEventListener("click", async () => {
    const input = document.getElementById("dose-text");
    const result = await control("dose", input.value.trim());
    if (result.ok) { input.value = ""; document.getElementById("dose-box").hidden = true; }
  });
  document.getElementById("stop-reason-save").addEventListener("click", async () => {
    const reason = document.getElementById("stop-reason").value.trim();
    if (!reason) { toast("Write the reason first", "refused"); return; }
    const result = await control("stop", reason);
    if (result.ok) document.getElementById("stop-reason-box").hidden = true;
  });
}

document.addEventListener("DOMContentLoaded", bindClinical);
