// Playlists page: a patient's slots, copy from the default, add from the library (searched
// and filtered by voice and genre), reorder, remove, a playlist fitted to a phase, and the
// avoid list. The server saves each change atomically and keeps comments.
"use strict";

const patient = document.getElementById("playlists").dataset.patient;
const base = `/api/patients/${encodeURIComponent(patient)}`;

async function change(method, url, body, done) {
  const result = await api(method, url, body);
  if (!result.ok) { toast(errorText(result), "refused"); return; }
  if (result.data && result.data.message) toast(result.data.message);
  else if (done) toast(done);
  await load();
}

function trackItem(slot, track, index, count, editable) {
  const url = `${base}/playlists/${encodeURIComponent(slot)}`;
  const buttons = editable ? [
    el("button", { class: "small move-up", "aria-label": "Move up", disabled: index === 0,
      onclick: () => change("POST", `${url}/move`, { from: index, to: index - 1 }, "Moved up") }, "▲"),
    el("button", { class: "small move-down", "aria-label": "Move down", disabled: index === count - 1,
      onclick: () => change("POST", `${url}/move`, { from: index, to: index + 1 }, "Moved down") }, "▼"),
    el("button", { class: "small remove", "aria-label": "Remove",
      onclick: () => change("DELETE", `${url}/tracks/${index}`, undefined, "Removed") }, "Remove"),
  ] : [];
  return el("li", { class: "track", "data-index": String(index), "data-path": track.path },
    el("span", { class: "title", text: track.title || track.path.split("/").pop() }),
    el("span", { class: "dur", text: track.duration_s ? clock(track.duration_s) : "missing" }),
    ...buttons);
}

function slotSection(item) {
  const editable = item.owner === "patient";
  const tracks = item.tracks || [];
  const head = el("h2", {}, item.slot,
    el("span", { class: "owner", text: editable ? "this patient's own" : (item.owner === "default" ? "room default" : "none yet") }));
  const copy = editable ? null : el("button", {
    class: "copy-default", "data-slot": item.slot,
    onclick: () => change("POST", `${base}/playlists/${encodeURIComponent(item.slot)}/copy-default`,
      undefined, `A copy of the default ${item.slot} is now this patient's`),
  }, item.owner === "default" ? "Make this patient's own copy" : "Start from the default");
  return el("section", { class: "panel slot", "data-slot": item.slot, "data-owner": item.owner || "" },
    head,
    el("ol", { class: "tracks", id: `slot-${item.slot}` },
      ...tracks.map((t, i) => trackItem(item.slot, t, i, tracks.length, editable))),
    copy);
}

async function load() {
  const result = await api("GET", `${base}/playlists`);
  const box = document.getElementById("playlists");
  if (!result.ok) { box.replaceChildren(el("p", { class: "fit-silent", text: errorText(result) })); return; }
  // The patient's own playlists first: they are what this page is for.
  const slots = [...result.data].sort((a, b) => (a.owner === "patient" ? 0 : 1) - (b.owner === "patient" ? 0 : 1));
  box.replaceChildren(...slots.map(slotSection));
  const select = document.getElementById("add-slot");
  const chosen = select.value;
  select.replaceChildren(...result.data.map((s) => el("option", { value: s.slot, text: s.slot })));
  if (chosen) select.value = chosen;
}

// The library's tag filter, as the API takes it: ?tag=instrumental&tag=genre=Ambient
function tagWords() {
  const words = [];
  const voice = document.getElementById("library-voice").value;
  const genre = document.getElementById("library-genre").value;
  if (voice) words.push(voice);
  if (genre) words.push(`genre=${genre}`);
  return words;
}

function tagQuery() {
  return tagWords().map((w) => `&tag=${encodeURIComponent(w)}`).join("");
}

function genreOptions(items) {
  const select = document.getElementById("library-genre");
  const genres = [...new Set(items.map((i) => i.genre).filter(Boolean))].sort();
  select.replaceChildren(el("option", { value: "", text: "any" }),
    ...genres.map((g) => el("option", { value: g, text: g })));
}

async function search() {
  const q = document.getElementById("library-search").value.trim();
  const result = await api("GET", `/api/library?q=${encodeURIComponent(q)}${tagQuery()}`);
  const list = document.getElementById("library-results");
  if (!result.ok) { list.replaceChildren(el("li", { class: "fit-silent", text: errorText(result) })); return; }
  if (!q && !tagWords().length) genreOptions(result.data);
  document.getElementById("library-count").textContent =
    `${result.data.length} track${result.data.length === 1 ? "" : "s"}`;
  list.replaceChildren(...result.data.slice(0, 50).map((item) => el("li", { class: "track", "data-path": item.path },
    el("span", { class: "title", text: item.title || item.path }),
    el("span", { class: "voice", text: [item.vocals, item.genre].filter(Boolean).join(" · ") }),
    el("span", { class: "dur", text: clock(item.duration_s) }),
    el("button", { class: "small add", onclick: () => {
      const slot = document.getElementById("add-slot").value;
      change("POST", `${base}/playlists/${encodeURIComponent(slot)}/tracks`,
        { path: item.path, title: item.title }, `Added to ${slot}`);
    } }, "Add"))));
}

// Fit to a phase: the profiles' phases that play music, a proposal, and saving it.
let profiles = [];
let proposal = null;

async function loadProfiles() {
  const result = await api("GET", "/api/profiles");
  if (!result.ok) return;
  profiles = result.data.filter((p) => !p.error && p.phases.some((ph) => ph.slot && ph.duration_s));
  document.getElementById("fit-profile").replaceChildren(
    ...profiles.map((p) => el("option", { value: p.name, text: p.title || p.name })));
  phaseOptions();
}

function phaseOptions() {
  const name = document.getElementById("fit-profile").value;
  const profile = profiles.find((p) => p.name === name);
  const phases = profile ? profile.phases.filter((ph) => ph.slot && ph.duration_s) : [];
  document.getElementById("fit-phase").replaceChildren(...phases.map((ph) => el("option",
    { value: ph.id, "data-slot": ph.slot, text: `${ph.name} (${clock(ph.duration_s)}, ${ph.slot})` })));
}

async function propose() {
  const phase = document.getElementById("fit-phase");
  const chosen = phase.selectedOptions[0];
  if (!chosen) { toast("Choose a profile and a phase that plays music", "refused"); return; }
  const slot = chosen.dataset.slot;
  const profile = document.getElementById("fit-profile").value;
  const notHeard = document.getElementById("fit-not-heard").value || "0";
  const url = `${base}/playlists/${encodeURIComponent(slot)}/fit?profile=${encodeURIComponent(profile)}` +
    `&phase=${encodeURIComponent(phase.value)}&not_heard=${encodeURIComponent(notHeard)}${tagQuery()}`;
  const result = await api("GET", url);
  if (!result.ok) { toast(errorText(result), "refused"); return; }
  proposal = result.data;
  const gap = proposal.length_s - proposal.target_s;
  const off = Math.abs(gap) >= 0.5 ? ` (${clock(Math.abs(gap))} ${gap > 0 ? "long" : "short"})` : "";
  const summary = document.getElementById("fit-summary");
  summary.textContent = `Lasts ${clock(proposal.length_s)} for a phase of ${clock(proposal.target_s)}: ` +
    (proposal.within ? `fills it to within one crossfade${off}` : `the closest found${off}`);
  summary.className = proposal.within ? "fit-fits" : "fit-shorter";
  document.getElementById("fit-tracks").replaceChildren(...proposal.tracks.map((t) =>
    el("li", { class: "track", "data-path": t.path },
      el("span", { class: "title", text: t.title }),
      el("span", { class: "voice", text: t.vocals || "" }),
      el("span", { class: "dur", text: clock(t.duration_s) }))));
  const leftOut = Object.entries(proposal.left_out).map(([why, n]) => `${n} ${why}`).join(", ");
  document.getElementById("fit-left-out").textContent = leftOut ? `Left out: ${leftOut}` : "";
  document.getElementById("btn-fit-save").disabled = !proposal.tracks.length;
  document.getElementById("fit-result").hidden = false;
}

async function saveProposal() {
  if (!proposal || !proposal.tracks.length) return;
  const tracks = proposal.tracks.map((t) => ({ path: t.path, title: t.title }));
  await change("PUT", `${base}/playlists/${encodeURIComponent(proposal.slot)}/tracks`, { tracks },
    `Saved as this patient's ${proposal.slot} playlist`);
}

async function loadAvoid() {
  const result = await api("GET", `${base}/avoid`);
  if (result.ok) document.getElementById("avoid-list").value = (result.data.avoid || []).join("\n");
}

async function saveAvoid() {
  const avoid = document.getElementById("avoid-list").value.split("\n").map((s) => s.trim()).filter(Boolean);
  const result = await api("PUT", `${base}/avoid`, { avoid });
  if (result.ok) toast("Avoid list saved"); else toast(errorText(result), "refused");
}

let searchTimer = null;
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("library-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  });
  for (const id of ["library-voice", "library-genre"]) {
    document.getElementById(id).addEventListener("change", search);
  }
  document.getElementById("fit-profile").addEventListener("change", phaseOptions);
  document.getElementById("btn-fit").addEventListener("click", propose);
  document.getElementById("btn-fit-save").addEventListener("click", saveProposal);
  document.getElementById("btn-avoid-save").addEventListener("click", saveAvoid);
  load();
  loadAvoid();
  loadProfiles();
  search();
});
