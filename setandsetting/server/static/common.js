// Shared by every page: API calls that carry the CSRF token, a calm toast, small formatters.
"use strict";

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)sas_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// fetch JSON; resolves to {ok, status, data}. State-changing methods send X-CSRF-Token.
async function api(method, url, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    return { ok: false, status: 0, data: { error: "the room daemon does not answer" } };
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (response.status === 401) { location.href = "/login"; }
  return { ok: response.ok, status: response.status, data };
}

let toastTimer = null;
function toast(message, kind) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = kind || "";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === "refused" ? 9000 : 5000);
}

function errorText(result) {
  return (result.data && result.data.error) || `request failed (${result.status})`;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// Wall times: the daemon sends UTC ISO 8601 with its offset; the page shows this browser's
// local time with the zone named ("2026-12-03 15:04:05 CET"), its IANA name in the tooltip.
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

function localTime(iso, withDate) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const parts = {};
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });
  for (const p of format.formatToParts(when)) parts[p.type] = p.value;
  const time = `${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
  return withDate === false ? time : `${parts.year}-${parts.month}-${parts.day} ${time}`;
}

// Every <time datetime="..."> the server rendered (its text UTC until now) in local time.
function localiseTimes(root) {
  for (const node of (root || document).querySelectorAll("time[datetime]")) {
    node.textContent = localTime(node.getAttribute("datetime"), node.dataset.date !== "no");
    node.title = `${ZONE}; ${node.getAttribute("datetime")}`;
  }
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.style.cssText = v;  // CSSOM: allowed by the page's CSP
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) {
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

// Log out (shown in the header to a signed-in browser): end the login, back to the token page.
document.addEventListener("DOMContentLoaded", () => {
  localiseTimes();
  const button = document.getElementById("btn-logout");
  if (!button) return;
  button.addEventListener("click", async () => {
    const result = await api("POST", "/api/logout");
    if (result.ok) location.href = "/login";
    else toast(errorText(result), "refused");
  });
});
