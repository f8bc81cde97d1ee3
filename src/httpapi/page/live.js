// Dropoff live: the recent state first (GET /v1/operations), then the
// pipeline's events as they happen (GET /v1/events, Server-Sent Events).
// Plain JavaScript, no build step, nothing fetched from elsewhere.
"use strict";

const MAX_OPERATIONS = 150; // rows kept on the page
const MAX_SHIPMENTS = 40;
const STAGES = ["accepted", "applied", "visible"];

// What the page knows, merged from the first view and the events. Every
// update only moves forward, so the order in which they arrive does not
// matter.
const state = {
  ops: new Map(),        // operation id → {id, shipmentId, kind, at, accepted, applied, visible, status, error, deadLettered, reason}
  shipments: new Map(),  // shipment id → {id, status, version, deleted, waiting: Set of operation ids, touched}
  deadLetters: new Map(), // operation id → {shipmentId, reason, description, at}
  counts: { accepted: 0, applied: 0, failed: 0, deadlettered: 0, visible: 0 },
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function shipmentOf(id) {
  let s = state.shipments.get(id);
  if (!s) {
    s = { id, status: "", version: 0, deleted: false, waiting: new Set(), touched: 0 };
    state.shipments.set(id, s);
  }
  s.touched = Date.now();
  return s;
}

function opOf(id) {
  let o = state.ops.get(id);
  if (!o) {
    o = { id, shipmentId: "", kind: "", at: "", first: Infinity, accepted: false, applied: false, visible: false,
          status: "NotStarted", error: null, deadLettered: false, reason: "" };
    state.ops.set(id, o);
  }
  return o;
}

// settle marks an operation done: it no longer waits in its session.
function settle(o) {
  if (o.shipmentId) shipmentOf(o.shipmentId).waiting.delete(o.id);
}

function outcome(o, e) {
  if (e.status && e.status !== "NotStarted") o.status = e.status;
  if (e.error) o.error = e.error;
  if (e.error && e.error.code === "DeadLettered") o.deadLettered = true;
}

// apply merges one event into the state.
function apply(e) {
  if (e.type === "lab") { labLog(e.text, e.at); refreshLab(); return; }
  if (e.type === "reset") { loadRecent(); return; }
  if (!e.operationId) return;
  const o = opOf(e.operationId);
  o.shipmentId = o.shipmentId || e.shipmentId || "";
  o.kind = o.kind || e.kind || "";
  o.at = e.at || o.at;
  if (e.at) o.first = Math.min(o.first, Date.parse(e.at)); // rows keep their place as they progress
  const s = o.shipmentId ? shipmentOf(o.shipmentId) : null;
  switch (e.type) {
    case "accepted":
      if (!o.accepted) state.counts.accepted++;
      o.accepted = true;
      if (s && !o.applied && !o.deadLettered) s.waiting.add(o.id);
      break;
    case "applied":
    case "failed":
      if (!o.applied) state.counts[e.type === "applied" ? "applied" : "failed"]++;
      o.applied = true;
      outcome(o, e);
      settle(o);
      break;
    case "deadlettered":
      if (!o.deadLettered) state.counts.deadlettered++;
      o.deadLettered = true;
      o.status = "Failed";
      o.reason = e.reason || "";
      state.deadLetters.set(o.id, { shipmentId: o.shipmentId, reason: e.reason, description: e.description, at: e.at });
      settle(o);
      break;
    case "visible":
      if (!o.visible) state.counts.visible++;
      o.visible = true;
      outcome(o, e);
      // What the projection shows was applied, and the projector may have
      // seen the commit before the worker said so (it completes the message
      // after the commit).
      if (!o.applied) state.counts[o.status === "Failed" ? "failed" : "applied"]++;
      o.applied = true;
      settle(o);
      if (s && e.version && e.version >= s.version) {
        s.version = e.version;
        if (e.shipmentStatus) s.status = e.shipmentStatus;
        s.deleted = !!e.deleted;
      }
      if (s && !e.shipmentStatus && e.status === "Succeeded") refreshShipment(s.id); // a tail knows no shipment state
      break;
  }
  schedule();
}

// Rendering is batched to one pass per animation frame: a burst of a
// thousand events draws a few times, not a thousand.
let pending = false;
function schedule() {
  if (!pending) { pending = true; requestAnimationFrame(render); }
}

function render() {
  pending = false;
  const ops = [...state.ops.values()].sort((a, b) => (b.first - a.first) || b.id.localeCompare(a.id));
  for (const o of ops.slice(MAX_OPERATIONS)) state.ops.delete(o.id); // bounded memory
  $("operation-rows").replaceChildren(...ops.slice(0, MAX_OPERATIONS).map(opRow));

  const ships = [...state.shipments.values()].sort((a, b) => b.touched - a.touched);
  for (const s of ships.slice(MAX_SHIPMENTS)) if (s.waiting.size === 0) state.shipments.delete(s.id);
  $("shipment-rows").replaceChildren(...ships.slice(0, MAX_SHIPMENTS).map(shipmentRow));

  $("deadletter-list").replaceChildren(...[...state.deadLetters.entries()].reverse().map(([id, d]) =>
    el("li", { "data-deadletter": id },
      el("b", {}, d.reason || "dead-lettered"), " — shipment ", shipmentLink(d.shipmentId), ", operation ", opLink(id),
      d.description ? el("div", { class: "dim" }, d.description) : "")));

  let waiting = 0;
  for (const s of state.shipments.values()) waiting += s.waiting.size;
  for (const [k, v] of Object.entries(state.counts)) $("count-" + k).textContent = v;
  $("count-waiting").textContent = waiting;
}

function opRow(o) {
  const stages = STAGES.map((st) => {
    // What was applied was accepted, even when this page did not see it (it
    // opened later, or it is a query API running apart, which tails).
    let on = st === "accepted" ? o.accepted || o.applied || o.visible : st === "applied" ? o.applied : o.visible;
    let cls = st, label = st;
    if (st === "applied" && o.deadLettered) { on = true; cls = "deadlettered"; label = "dead-lettered"; }
    else if (st === "applied" && o.status === "Failed") cls = "failed";
    return el("span", { class: "stage " + cls + (on ? " on" : "") }, on ? label + " ✓" : label);
  });
  let result = o.status;
  if (o.error) result += " · " + o.error.code;
  else if (o.deadLettered) result += " · DeadLettered";
  if (o.reason) result += " (" + o.reason + ")";
  return el("tr", { "data-op": o.id, "data-status": o.status, "data-visible": String(o.visible),
                    "data-deadlettered": String(o.deadLettered) },
    el("td", {}, Number.isFinite(o.first) ? new Date(o.first).toLocaleTimeString([], { hour12: false }) : ""),
    el("td", {}, o.shipmentId ? shipmentLink(o.shipmentId) : ""),
    el("td", {}, o.kind.replace("shipment.", "")),
    el("td", { class: "outcome" }, opLink(o.id, result)),
    el("td", { class: "stages" }, ...stages));
}

function shipmentRow(s) {
  return el("tr", { "data-shipment": s.id, "data-status": s.status, class: s.waiting.size ? "waiting" : "" },
    el("td", {}, shipmentLink(s.id)),
    el("td", { class: "num waiting-count" }, String(s.waiting.size)),
    el("td", {}, s.deleted ? "cancelled" : s.status),
    el("td", { class: "num" }, s.version ? String(s.version) : ""));
}

// opLink links to an operation, by its text (default: the end of its id).
function opLink(id, text) {
  return el("a", { href: "/v1/operations/" + id, title: "operation " + id,
                   onclick: (ev) => { ev.preventDefault(); showOperation(id); } },
    text || (id.length > 9 ? "…" + id.slice(-8) : id));
}

function shipmentLink(id) {
  return el("a", { href: "/v1/shipments/" + id + "/history", onclick: (ev) => { ev.preventDefault(); showShipment(id); } }, id);
}

// The first view: the operations the projection recorded last, and the
// shipments they touched.
async function loadRecent() {
  const res = await fetch("/v1/operations?limit=100");
  if (!res.ok) return;
  const page = await res.json();
  for (const op of page.items.reverse()) {
    const shipmentId = (op.resourceLocation || "").replace("/v1/shipments/", "");
    apply({ type: "visible", operationId: op.id, shipmentId, kind: op.kind, status: op.status, error: op.error,
            at: op.createdAt });
  }
  const ids = [...new Set(page.items.map((op) => (op.resourceLocation || "").replace("/v1/shipments/", "")))];
  await Promise.all(ids.filter(Boolean).slice(0, MAX_SHIPMENTS).map(refreshShipment));
}

const refreshing = new Map(); // shipment id → a refresh in flight
function refreshShipment(id) {
  if (refreshing.has(id)) return refreshing.get(id);
  const p = fetch("/v1/shipments/" + encodeURIComponent(id)).then(async (res) => {
    const s = shipmentOf(id);
    if (res.ok) {
      const body = await res.json();
      if (body.version >= s.version) Object.assign(s, { status: body.status, version: body.version, deleted: false });
    } else if (res.status === 404) {
      s.deleted = s.version > 0;
    }
    schedule();
  }).catch(() => {}).finally(() => refreshing.delete(id));
  refreshing.set(id, p);
  return p;
}

// The live part: the browser's EventSource reconnects by itself, sending
// the last event id, and the server resumes from there.
function connect() {
  const badge = $("connection");
  const es = new EventSource("/v1/events");
  es.onopen = () => { badge.dataset.state = "live"; badge.textContent = "live"; };
  es.onerror = () => { badge.dataset.state = "offline"; badge.textContent = "reconnecting…"; };
  es.onmessage = (m) => apply(JSON.parse(m.data));
}

// Details, one click away.
async function showJSON(title, ...urls) {
  $("detail-title").textContent = title;
  const body = $("detail-body");
  body.replaceChildren();
  $("detail").hidden = false;
  for (const url of urls) {
    const res = await fetch(url);
    const text = await res.text();
    let pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: shown as it is */ }
    body.append(el("h3", {}, "GET " + url + " → " + res.status), el("pre", {}, pretty));
  }
}

async function showShipment(id) {
  await showJSON("Shipment " + id, "/v1/shipments/" + id, "/v1/shipments/" + id + "/history");
  // Each history entry's operation is one more click away.
  const ops = el("p", {}, "Operations: ");
  for (const o of state.ops.values()) if (o.shipmentId === id) ops.append(opLink(o.id), " ");
  $("detail-body").append(ops);
}

function showOperation(id) { return showJSON("Operation " + id, "/v1/operations/" + id); }

// Forms.
function say(id, text, isError) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}

async function send(method, url, body) {
  const res = await fetch(url, { method, headers: { "Content-Type": "application/json" },
                                 body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* an empty or non-JSON body */ }
  return { res, json };
}

function problem(r) {
  return r.res.status + " " + ((r.json && (r.json.detail || r.json.title)) || r.res.statusText);
}

async function putShipment(ev) {
  ev.preventDefault();
  const id = $("put-id").value.trim();
  const r = await send("PUT", "/v1/shipments/" + encodeURIComponent(id), {
    recipient: $("put-recipient").value, destination: $("put-destination").value,
    weightGrams: Number($("put-weight").value), service: $("put-service").value });
  if (r.res.status === 202) say("put-result", "202 Accepted: operation " + r.json.id);
  else say("put-result", problem(r), true);
}

async function lab(method, path, body) {
  const r = await send(method, "/admin/lab" + path, body);
  if (r.res.ok) say("lab-result", r.res.status + " " + path.slice(1));
  else say("lab-result", problem(r), true);
  return r;
}

async function refreshLab() {
  const res = await fetch("/admin/lab");
  if (!res.ok) {
    let why = "this process runs no part the lab controls (a query API alone)";
    if (res.status !== 404) {
      try { why = (await res.json()).detail; } catch { why = "HTTP " + res.status; }
    }
    $("lab").hidden = true;
    $("lab-off").hidden = false;
    $("lab-off").textContent = "The lab's controls are off here: " + why + ".";
    return;
  }
  const st = await res.json();
  $("lab").hidden = false;
  $("lab-off").hidden = true;
  $("burst-form").hidden = !st.burst;
  $("poison-form").hidden = !st.poison;
  $("lab-worker").hidden = !st.worker;
  $("lab-projector").hidden = !st.projector;
  $("delay-form").hidden = !st.writeDelay;
  document.querySelector('[data-lab="worker/restart"]').hidden = !st.restartWorker;
  $("lab-worker-state").textContent = st.worker || "";
  $("lab-projector-state").textContent = st.projector || "";
  $("lab-delay-state").textContent = st.writeDelay || "";
}

function labLog(text, at) {
  const li = el("li", {}, (at ? new Date(at).toLocaleTimeString() + " " : "") + text);
  $("lab-log").prepend(li);
}

function wire() {
  $("put-form").addEventListener("submit", putShipment);
  $("burst-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    lab("POST", "/burst", { commands: Number($("burst-commands").value), shipments: Number($("burst-shipments").value) });
  });
  $("poison-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await lab("POST", "/poison", { shipmentId: $("poison-shipment").value.trim() });
    if (r.res.status === 202) say("lab-result", "202 poison sent: operation " + r.json.operationId);
  });
  $("delay-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    lab("PUT", "/write-delay", { delay: $("delay-value").value.trim() });
  });
  for (const b of document.querySelectorAll("[data-lab]")) {
    b.addEventListener("click", () => lab("POST", "/" + b.dataset.lab));
  }
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") $("detail").hidden = true; });
}

wire();
connect();     // first, so that nothing that happens while the first view loads is missed
loadRecent();
refreshLab();
