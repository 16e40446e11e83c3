// Playlists page: a patient's slots, copy from the default, add from the library, reorder,
// remove, and the avoid list. The server saves each change atomically and keeps comments.
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

async function search() {
  const q = document.getElementById("library-search").value.trim();
  const result = await api("GET", `/api/library?q=${encodeURIComponent(q)}`);
  const list = document.getElementById("library-results");
  if (!result.ok) { list.replaceChildren(el("li", { class: "fit-silent", text: errorText(result) })); return; }
  list.replaceChildren(...result.data.slice(0, 50).map((item) => el("li", { class: "track", "data-path": item.path },
    el("span", { class: "title", text: item.title || item.path }),
    el("span", { class: "dur", text: clock(item.duration_s) }),
    el("button", { class: "small add", onclick: () => {
      const slot = document.getElementById("add-slot").value;
      change("POST", `${base}/playlists/${encodeURIComponent(slot)}/tracks`,
        { path: item.path, title: item.title }, `Added to ${slot}`);
    } }, "Add"))));
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
  document.getElementById("btn-avoid-save").addEventListener("click", saveAvoid);
  load();
  loadAvoid();
  search();
});
