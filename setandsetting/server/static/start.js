// Start page: pick patient and profile, show the preflight, start the session.
"use strict";

const FIT_TEXT = {
  fits: "fits", shorter: "shorter than the phase (will loop or go quiet)",
  longer: "longer than the phase (will be cut)", silent: "silent",
};
// The preflight table's columns (each cell carries its own: a phone shows the rows as cards).
const SLOT_COLUMNS = ["phase", "slot", "playlist", "tracks", "music", "phase length"];

function fillSelect(select, items, value, label) {
  select.replaceChildren(...items.map((item) =>
    el("option", { value: value(item), text: label(item) })));
}

const OUTPUT_TEXT = {
  music_output: "music", patient_chimes: "patient chimes", staff_chimes: "staff chimes",
};

function devicesList(devices) {
  const rows = [];
  const audio = devices.audio || {};
  for (const [key, out] of Object.entries(audio.outputs || {})) {
    const label = `${OUTPUT_TEXT[key] || key}: ${out.wanted}`;
    let said = out.found ? "found" : "NOT FOUND (it will be silent)";
    if (out.found && out.silent) said = `found, but NO SOUND: ${out.silent}`;
    rows.push(el("li", {
      class: out.found && !out.silent ? "fit-fits" : "fit-shorter", "data-output": key,
      text: `${label} — ${said}`,
    }));
  }
  const listed = (names) => (names && names.length ? names.join(", ") : "none found");
  rows.push(el("li", { text: `sound outputs (chimes): ${listed(audio.chime_devices)}` }));
  rows.push(el("li", { text: `sound outputs (music): ${listed(audio.music_devices)}` }));
  for (const error of audio.errors || []) {
    rows.push(el("li", { class: "fit-shorter", text: `audio: ${error}` }));
  }
  const midi = devices.midi || {};
  const found = midi.found || {};
  const missing = { outputs: "cues go unsent until it appears", inputs: "the pedal does nothing" };
  for (const key of ["outputs", "inputs"]) {
    for (const [name, port] of Object.entries(found[key] || {})) {
      rows.push(el("li", {
        class: port ? "fit-fits" : "fit-shorter", [`data-midi-${key}`]: name,
        text: `MIDI ${name} — ${port ? `found: ${port}` : `NOT FOUND (${missing[key]})`}`,
      }));
    }
  }
  for (const key of ["outputs", "inputs"]) {
    const ports = midi[key] || [];
    rows.push(el("li", { text: `MIDI ${key}: ${ports.length ? ports.join(", ") : "none found"}` }));
  }
  if (midi.error) rows.push(el("li", { class: "fit-shorter", text: `MIDI: ${midi.error}` }));
  return el("ul", { class: "plain", id: "preflight-devices" }, ...rows);
}

function renderPreflight(data) {
  const box = document.getElementById("preflight");
  const warnings = [...new Set([...(data.plan?.warnings || []), ...(data.warnings || [])])];
  const slots = data.slots || [];
  const table = el("table", { id: "preflight-slots" },
    el("thead", {}, el("tr", {}, ...[...SLOT_COLUMNS, "fit"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...slots.map((s) => el("tr", { "data-slot": s.slot },
      ...[
        s.phase, s.slot,
        s.owner ? `${s.owner}${s.source ? " · " + s.source.split("/").pop() : ""}` : "none",
        String(s.tracks ?? 0), clock(s.playable_s),
        s.phase_s === null || s.phase_s === undefined ? "open" : clock(s.phase_s),
      ].map((text, i) => el("td", { text, "data-label": SLOT_COLUMNS[i] })),
      el("td", { class: `fit-${s.fit}`, text: FIT_TEXT[s.fit] || s.fit, "data-label": "fit" })))));
  box.replaceChildren(
    el("h2", { text: "Preflight" }),
    warnings.length
      ? el("ul", { class: "warnings", id: "preflight-warnings" }, ...warnings.map((w) => el("li", { text: w })))
      : el("p", { class: "fit-fits", id: "preflight-warnings", text: "No warnings: every file is found." }),
    table,
    el("h2", { text: "Devices" }),
    devicesList(data.devices || {}),
    el("div", { class: "row" },
      el("button", { id: "test-sound", class: "small", text: "Test sound", onclick: testSound }),
      el("span", { class: "muted", text: "plays a short tone through each output and listens" })),
  );
}

// A found device name proves no sound: the tone is played and measured, on request only
// (it takes seconds and sounds in the room). Each output's line then says what was heard.
const VERDICT_CLASS = { heard: "fit-fits", silent: "fit-silent", missing: "fit-silent" };

async function testSound() {
  const button = document.getElementById("test-sound");
  button.disabled = true;
  button.textContent = "Playing a tone…";
  const result = await api("POST", "/api/test-sound");
  button.disabled = false;
  button.textContent = "Test sound";
  if (!result.ok) { toast(errorText(result), "refused"); return; }
  for (const f of result.data.outputs) {
    const key = f.output === "music" ? "music_output" : f.output;
    const row = document.querySelector(`#preflight-devices li[data-output='${key}']`);
    if (!row) continue;
    row.className = VERDICT_CLASS[f.verdict] || "fit-shorter";
    row.dataset.verdict = f.verdict;
    row.textContent = `${OUTPUT_TEXT[key] || key}: ${f.device} — ${f.verdict.toUpperCase()}: ${f.why}`;
  }
}

async function preflight() {
  const patient = document.getElementById("patient").value;
  const profile = document.getElementById("profile").value;
  const button = document.getElementById("start-button");
  button.disabled = true;
  if (!patient || !profile) return;
  const q = new URLSearchParams({ patient, profile });
  const result = await api("GET", `/api/preflight?${q}`);
  if (!result.ok) {
    document.getElementById("preflight").replaceChildren(
      el("h2", { text: "Preflight" }), el("p", { class: "fit-silent", text: errorText(result) }));
    return;
  }
  renderPreflight(result.data);
  button.disabled = false;
}

async function startSession() {
  const button = document.getElementById("start-button");
  button.disabled = true;
  const result = await api("POST", "/api/session", {
    patient: document.getElementById("patient").value,
    profile: document.getElementById("profile").value,
    facts: sessionFacts(),
  });
  if (result.ok) { location.href = "/live"; return; }
  toast(errorText(result), "refused");
  button.disabled = false;
}

async function init() {
  const [patients, profiles] = await Promise.all([api("GET", "/api/patients"), api("GET", "/api/profiles")]);
  if (!patients.ok || !profiles.ok) { toast(errorText(patients.ok ? profiles : patients), "refused"); return; }
  fillSelect(document.getElementById("patient"), patients.data, (p) => p, (p) => p);
  fillSelect(document.getElementById("profile"), profiles.data, (p) => p.name,
    (p) => `${p.title || p.name} (${p.name})`);
  const asks = new Map(profiles.data.map((p) => [p.name, p.asks_facts || null]));
  const showFacts = () => renderFacts(asks.get(document.getElementById("profile").value));
  document.getElementById("profile").addEventListener("change", showFacts);
  const params = new URLSearchParams(location.search);
  if (params.get("patient")) document.getElementById("patient").value = params.get("patient");
  if (params.get("profile")) document.getElementById("profile").value = params.get("profile");
  document.getElementById("patient").addEventListener("change", preflight);
  document.getElementById("profile").addEventListener("change", preflight);
  document.getElementById("start-button").addEventListener("click", startSession);
  showFacts();
  await preflight();
}

document.addEventListener("DOMContentLoaded", init);
