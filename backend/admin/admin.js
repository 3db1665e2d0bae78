// The fleet admin page: plain DOM code against the backend's own API. The API key lives
// in sessionStorage only and travels as an Authorization header, never in a URL.
"use strict";

const KEY_STORE = "fleet-admin-api-key";
const REFRESH_MS = 5000;
const JOB_POLL_MS = 1000;
const NOTICE_MS = 8000;
const ENRICHMENT = new Set(["light", "heavy"]);
const SERVICE_ORDER = ["light", "heavy", "detector", "florence", "clip", "llm"];
const EMPTY_RETRY_MS = 60000; // how long a model with no latency history is skipped when picking one
const NO_KEY = "Enter an admin API key above to see the fleet's models, jobs and events. It is kept in this browser tab only.";
const SERIES = [
  { key: "p50_ms", label: "p50", color: "#1c64c8" },
  { key: "p95_ms", label: "p95", color: "#d9480f" },
];

const state = {
  key: sessionStorage.getItem(KEY_STORE) || "",
  refreshing: null, // the refresh in flight (a promise)
  refreshAgain: false,
  models: [],
  jobs: [],
  busy: new Set(), // model ids with an action in flight
  latencyChoice: null, // the operator's pick; null: the first model with data
  latencyAuto: null,
  latencyEmpty: new Map(), // model -> {at, lastUsed} of its last empty history
  captions: new Map(), // event id -> caption (events do not change once stored)
  jobTimer: null,
  noticeTimer: null,
};

const $ = (id) => document.getElementById(id);

// --- the API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || null;
    this.requestId = (error && error.request_id) || null;
  }
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, { message: `the backend did not answer (${exc.message})` });
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_exc) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data && data.error);
  return data;
}

// --- small DOM helpers -------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function badge(text, tone) {
  return el("span", { class: `badge badge-${tone}`, text });
}

function bar(fraction, label) {
  const clamped = Math.max(0, Math.min(1, fraction || 0));
  const fill = el("div", { class: clamped > 0.9 ? "bar-fill bar-hot" : "bar-fill" });
  fill.style.width = `${(clamped * 100).toFixed(1)}%`; // CSSOM: allowed by the page's CSP
  return el(
    "div",
    { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": Math.round(clamped * 100), "aria-label": label },
    fill,
  );
}

function showSectionError(id, error) {
  const node = $(id);
  node.hidden = !error;
  node.textContent = error ? `Could not refresh: ${error.message}` : "";
}

function bytes(n) {
  if (!n) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

function ago(iso) {
  if (!iso) return "—";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function stateTone(value) {
  return { loaded: "ok", loading: "warn", unloaded: "muted", error: "bad", unreachable: "bad" }[value] || "muted";
}

// --- messages and the key ------------------------------------------------------------------

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
}

function clearAlert() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
}

function notice(text) {
  // Success notes fade after a while; errors stay in the alert until dismissed.
  $("notice").textContent = text;
  window.clearTimeout(state.noticeTimer);
  if (text) state.noticeTimer = window.setTimeout(() => ($("notice").textContent = ""), NOTICE_MS);
}

function setAuthMessage(text, refused = false) {
  const node = $("auth-message");
  node.hidden = !text;
  node.classList.toggle("refused", refused);
  node.textContent = text || "";
}

function explain(error, doing) {
  if (error.status === 401) return `${doing}: the API key was refused (${error.message}). Enter a valid admin key.`;
  if (error.status === 403) return `${doing}: this key may not do that (${error.message}). Enter an admin key.`;
  const id = error.requestId ? ` (request ${error.requestId})` : "";
  return `${doing}: ${error.message}${id}`;
}

function showData(visible) {
  for (const card of document.querySelectorAll(".needs-key")) card.hidden = !visible;
}

function saveKey(event) {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  input.value = "";
  if (!key) {
    setAuthMessage("Paste an API key first (an admin key can also load, unload, download and delete).");
    return;
  }
  state.key = key;
  sessionStorage.setItem(KEY_STORE, key);
  input.placeholder = "key saved for this tab";
  clearAlert();
  setAuthMessage("");
  refresh();
}

function forgetKey() {
  state.key = "";
  sessionStorage.removeItem(KEY_STORE);
  $("api-key").placeholder = "paste an admin key";
  showData(false);
  setAuthMessage("Key forgotten. Enter an admin API key to see the fleet.");
}

// --- health -------------------------------------------------------------------------------

function renderHealth(health) {
  const tone = { healthy: "ok", degraded: "warn", unhealthy: "bad" }[health.status] || "muted";
  const top = $("backend-status");
  top.className = `badge badge-${tone}`;
  top.textContent = `backend: ${health.status}`;
  $("health-status").replaceChildren(badge(health.status, tone));
  $("health-database").replaceChildren(badge(health.database, health.database === "ok" ? "ok" : "bad"));
  $("health-uptime").textContent = duration(health.uptime_seconds);
  const security = health.security || {};
  // Where the backend requires no key (auth off), the page works without one.
  state.authOff = security.auth === "off";
  const warnings = (security.warnings || []).join("; ");
  $("health-security").textContent =
    `${security.auth || "unknown"}${security.keys !== undefined ? `, ${security.keys} key(s)` : ""}` +
    (warnings ? ` — ${warnings}` : "");
  const links = { ...health.enrichment, ...health.services };
  const rows = Object.entries(links).map(([name, link]) => {
    const circuitTone = { closed: "ok", half_open: "warn", open: "bad" }[link.circuit] || "muted";
    return el(
      "tr",
      { "data-service": name },
      el("th", { scope: "row", text: name }),
      el("td", { class: "mono", text: link.url }),
      el("td", { "data-field": "circuit" }, badge(link.circuit.replace("_", "-"), circuitTone)),
    );
  });
  $("circuits").replaceChildren(...rows);
}

function duration(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// --- services and models ----------------------------------------------------------------------

function byService(a, b) {
  const rank = (name) => (SERVICE_ORDER.includes(name) ? SERVICE_ORDER.indexOf(name) : SERVICE_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function renderServices(services) {
  const items = [...services]
    .sort((a, b) => byService(a.name, b.name))
    .map((service) => {
      const head = el(
        "div",
        { class: "service-head" },
        el("strong", { text: service.name }),
        badge(service.reachable ? "reachable" : "unreachable", service.reachable ? "ok" : "bad"),
        service.device ? el("span", { class: "mono muted", text: service.device }) : null,
      );
      if (!service.reachable) {
        return el(
          "li",
          { class: "service", "data-service": service.name },
          head,
          el("p", { class: "reason", "data-field": "reason", text: service.reason || "no answer" }),
        );
      }
      const used = service.vram_used_mb;
      const budget = service.vram_budget_mb;
      const share = budget > 0 ? used / budget : 0;
      const loaded = service.loaded_models.length ? service.loaded_models.join(", ") : "nothing loaded";
      return el(
        "li",
        { class: "service", "data-service": service.name },
        head,
        bar(share, `${service.name} memory`),
        el("p", { class: "memory", "data-field": "memory",
          text: `${Math.round(used)} / ${Math.round(budget)} MB (${Math.round(share * 100)}%)` }),
        el("p", { class: "muted small", text: `loaded: ${loaded}` }),
      );
    });
  $("services").replaceChildren(...items);
}

function activeJob(modelId) {
  return state.jobs.some((job) => job.model_id === modelId && (job.state === "queued" || job.state === "running"));
}

function actionsFor(model) {
  const busy = state.busy.has(model.id);
  // Loading a model with no weights in the store would make its service fetch them: the
  // operator downloads first, where the job shows progress and errors.
  const canLoad =
    (model.state === "unloaded" || model.state === "error") && model.service !== "llm" && model.download_status !== "missing";
  const canDownload = model.downloadable && model.download_status !== "downloaded" && !activeJob(model.id);
  const enabled = {
    load: canLoad,
    unload: model.state === "loaded",
    download: canDownload,
    delete: model.deletable,
  };
  const cell = el("td", { class: "actions" });
  for (const action of ["load", "unload", "download", "delete"]) {
    cell.append(
      el("button", {
        type: "button",
        class: action === "delete" ? "small danger" : "small",
        "data-action": action,
        "data-model": model.id,
        disabled: busy || !enabled[action],
        text: action[0].toUpperCase() + action.slice(1),
      }),
    );
  }
  return cell;
}

function renderModels(models) {
  const rows = [...models]
    .sort((a, b) => byService(a.service, b.service) || a.id.localeCompare(b.id))
    .map((model) => {
      const weights = el(
        "td",
        { "data-field": "download" },
        badge(model.download_status, { downloaded: "ok", demo: "info", package: "muted", missing: "warn" }[model.download_status] || "muted"),
      );
      const stateCell = el("td", { "data-field": "state", title: model.error || "" }, model.state);
      stateCell.classList.add("state", `state-${stateTone(model.state)}`);
      return el(
        "tr",
        { "data-model": model.id },
        el(
          "td",
          {},
          el("div", { class: "model-name", text: model.display_name }),
          el("div", { class: "mono muted small", text: model.id }),
        ),
        el("td", { "data-field": "service", text: model.service }),
        el("td", { "data-field": "type", text: model.type }),
        stateCell,
        el("td", { class: "num", "data-field": "vram", text: Math.round(model.vram_mb).toString() }),
        el("td", { "data-field": "last-used", title: model.last_used_at || "", text: ago(model.last_used_at) }),
        weights,
        el("td", { class: "num", "data-field": "size", text: bytes(model.size_on_disk_bytes) }),
        actionsFor(model),
      );
    });
  $("models").replaceChildren(...rows);
}

async function onModelAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled) return;
  const { action, model } = button.dataset;
  if (action === "delete" && !window.confirm(`Delete the weights of ${model} from the model store?`)) return;
  state.busy.add(model);
  renderModels(state.models);
  notice(`${action} ${model}…`);
  try {
    if (action === "download") {
      const job = await api("/api/models/download", { method: "POST", body: { model_id: model } });
      notice(`Download of ${model} started (job ${job.id.slice(0, 8)}).`);
      state.jobs = [job, ...state.jobs.filter((j) => j.id !== job.id)];
      renderJobs(state.jobs);
      pollJobs();
    } else if (action === "delete") {
      const deleted = await api(`/api/models/${encodeURIComponent(model)}`, { method: "DELETE" });
      notice(`Deleted ${deleted.id}: ${bytes(deleted.freed_bytes)} freed.`);
    } else {
      const status = await api(`/api/models/${encodeURIComponent(model)}/${action}`, { method: "POST" });
      notice(`${status.name} is ${status.state}.`);
    }
    clearAlert();
  } catch (error) {
    notice("");
    showAlert(explain(error, `Could not ${action} ${model}`));
  } finally {
    state.busy.delete(model);
    await refresh();
  }
}

// --- download jobs -----------------------------------------------------------------------------

function renderJobs(jobs) {
  $("jobs-empty").hidden = jobs.length > 0;
  const items = jobs.slice(0, 10).map((job) => {
    const tone = { queued: "muted", running: "info", succeeded: "ok", failed: "bad" }[job.state] || "muted";
    const none = { queued: "waiting to start", running: "starting", succeeded: "done", failed: "nothing received" };
    let amount = none[job.state] || "";
    if (job.bytes_total) amount = `${bytes(job.bytes_done)} / ${bytes(job.bytes_total)}`;
    else if (job.bytes_done) amount = bytes(job.bytes_done);
    const percent = job.progress === null || job.progress === undefined ? "" : ` (${Math.round(job.progress * 100)}%)`;
    return el(
      "li",
      { class: "job", "data-job": job.id, "data-model": job.model_id },
      el("div", { class: "job-head" }, el("strong", { text: job.model_id }), badge(job.state, tone)),
      bar(job.progress ?? (job.state === "succeeded" ? 1 : 0), `download of ${job.model_id}`),
      el("p", { class: "small muted", text: `${amount}${percent}` }),
      job.error ? el("p", { class: "job-error", "data-field": "error", text: job.error }) : null,
    );
  });
  $("jobs").replaceChildren(...items);
}

async function refreshJobs() {
  const { jobs } = await api("/api/jobs");
  const wasActive = state.jobs.some((j) => j.state === "queued" || j.state === "running");
  state.jobs = jobs;
  renderJobs(jobs);
  const active = jobs.some((j) => j.state === "queued" || j.state === "running");
  if (active) pollJobs();
  return wasActive && !active; // a job just finished: sizes and states on disk changed
}

function pollJobs() {
  if (state.jobTimer !== null) return;
  state.jobTimer = window.setTimeout(async () => {
    state.jobTimer = null;
    try {
      if (await refreshJobs()) await refresh();
      showSectionError("jobs-error", null);
    } catch (error) {
      showSectionError("jobs-error", error);
    }
  }, JOB_POLL_MS);
}

// --- latency chart ------------------------------------------------------------------------------

function latencyCandidates() {
  return state.models
    .filter((m) => ENRICHMENT.has(m.service))
    .sort((a, b) => (b.last_used_at || "").localeCompare(a.last_used_at || "") || a.id.localeCompare(b.id));
}

function fillLatencySelect(candidates) {
  const select = $("latency-model");
  const wanted = [...candidates].sort((a, b) => a.display_name.localeCompare(b.display_name));
  const same = select.options.length === wanted.length && wanted.every((m, i) => select.options[i].value === m.id);
  if (!same) {
    select.replaceChildren(...wanted.map((m) => el("option", { value: m.id, text: `${m.display_name} (${m.service})` })));
  }
}

async function pickLatency(candidates) {
  // The operator's choice, else the last automatic pick while it has data, else the first
  // model (most recently used first) whose history has data.
  if (state.latencyChoice) return [state.latencyChoice, await latencyOf(state.latencyChoice)];
  const order = [state.latencyAuto, ...candidates.map((m) => m.id)].filter(Boolean);
  const lastUsed = new Map(candidates.map((m) => [m.id, m.last_used_at]));
  let fallback = null;
  for (const name of new Set(order)) {
    // A model found empty is asked again after a while, or at once when it was used since.
    const empty = state.latencyEmpty.get(name);
    const fresh = empty && Date.now() - empty.at < EMPTY_RETRY_MS && empty.lastUsed === lastUsed.get(name);
    if (fresh && name !== order[0]) continue;
    const history = await latencyOf(name);
    if (history.has_data) return [name, history];
    state.latencyEmpty.set(name, { at: Date.now(), lastUsed: lastUsed.get(name) });
    fallback = fallback || [name, history];
  }
  return fallback || [null, null];
}

function latencyOf(name) {
  const query = new URLSearchParams({ model: name, since: "60", bucket_seconds: "60" });
  return api(`/api/system/model-zoo/latency/history?${query}`);
}

async function refreshLatency() {
  const candidates = latencyCandidates();
  fillLatencySelect(candidates);
  const [name, history] = await pickLatency(candidates);
  if (!state.latencyChoice) state.latencyAuto = name;
  if (name) $("latency-model").value = name;
  drawLatency(history);
}

function drawLatency(history) {
  const canvas = $("latency-chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 720;
  const height = canvas.clientHeight || 300;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const hasData = Boolean(history && history.has_data);
  $("latency-empty").hidden = hasData;
  $("latency-summary").textContent = "";
  if (!history) return;

  const snapshots = history.snapshots.map((s) => ({ t: new Date(s.timestamp).getTime(), stats: s.stats }));
  const withData = snapshots.filter((s) => s.stats);
  const pad = { left: 56, right: 16, top: 14, bottom: 34 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const t0 = snapshots.length ? snapshots[0].t : Date.now() - 3600e3;
  const t1 = snapshots.length ? snapshots[snapshots.length - 1].t : Date.now();
  const { step, top } = niceScale(Math.max(1, ...withData.map((s) => s.stats.p95_ms)));
  const x = (t) => pad.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotW : plotW);
  const y = (ms) => pad.top + plotH - (ms / top) * plotH;

  // Axes, grid and labels.
  ctx.font = "12px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#d5dae1";
  ctx.fillStyle = "#4a5563";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let ms = 0; ms <= top + step / 2; ms += step) {
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y(ms)) + 0.5);
    ctx.lineTo(pad.left + plotW, Math.round(y(ms)) + 0.5);
    ctx.stroke();
    ctx.fillText(step >= 1 ? String(Math.round(ms)) : ms.toFixed(1), pad.left - 8, y(ms));
  }
  ctx.textBaseline = "top";
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + ((t1 - t0) * i) / 4;
    ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center"; // the ends stay inside the canvas
    ctx.fillText(new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), x(t), pad.top + plotH + 8);
  }
  ctx.strokeStyle = "#4a5563";
  ctx.beginPath();
  ctx.moveTo(pad.left + 0.5, pad.top);
  ctx.lineTo(pad.left + 0.5, pad.top + plotH + 0.5);
  ctx.lineTo(pad.left + plotW, pad.top + plotH + 0.5);
  ctx.stroke();
  ctx.save();
  ctx.translate(14, pad.top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("latency (ms)", 0, 0);
  ctx.restore();

  // The series: lines over consecutive buckets with data, a dot on every bucket (a lone
  // bucket has no neighbour to draw a line to).
  for (const series of SERIES) {
    ctx.strokeStyle = series.color;
    ctx.fillStyle = series.color;
    ctx.lineWidth = 2;
    let drawing = false;
    ctx.beginPath();
    for (const s of snapshots) {
      if (!s.stats) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(s.t), y(s.stats[series.key]));
      else ctx.moveTo(x(s.t), y(s.stats[series.key]));
      drawing = true;
    }
    ctx.stroke();
    for (const s of withData) {
      ctx.beginPath();
      ctx.arc(x(s.t), y(s.stats[series.key]), 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  if (withData.length) {
    const last = withData[withData.length - 1].stats;
    const calls = withData.reduce((sum, s) => sum + s.stats.sample_count, 0);
    $("latency-summary").textContent =
      `· latest minute p50 ${formatMs(last.p50_ms)} ms, p95 ${formatMs(last.p95_ms)} ms · ${calls} calls in the hour`;
  }
}

function niceScale(max) {
  // The smallest 1, 2 or 5 x 10^k step that covers ``max`` in at most five ticks.
  const power = 10 ** Math.floor(Math.log10(max / 5));
  const step = [1, 2, 5, 10].map((s) => s * power).find((s) => Math.ceil(max / s) <= 5);
  return { step, top: step * Math.max(1, Math.ceil(max / step)) };
}

function formatMs(ms) {
  return ms >= 100 ? Math.round(ms).toString() : ms.toFixed(ms >= 10 ? 0 : 1);
}

// --- events ----------------------------------------------------------------------------------

async function refreshEvents() {
  const { events } = await api("/api/events?limit=20");
  // The list has no captions; each event's own record does, fetched once per event.
  const unknown = events.filter((e) => !state.captions.has(e.id));
  await Promise.all(
    unknown.map(async (e) => {
      try {
        const full = await api(`/api/events/${encodeURIComponent(e.id)}`);
        state.captions.set(e.id, full.caption || "");
      } catch (_error) {
        state.captions.set(e.id, "");
      }
    }),
  );
  $("events-empty").hidden = events.length > 0;
  const rows = events.map((e) => {
    const level = e.risk_level || "unknown";
    const tone = { low: "ok", medium: "warn", high: "bad", critical: "bad" }[level] || "muted";
    const risk = e.risk_score === null ? badge("not assessed", "muted") : badge(`${e.risk_score} ${level}`, tone);
    return el(
      "tr",
      { "data-event": e.id },
      el("td", { text: new Date(e.timestamp * 1000).toLocaleString() }),
      el("td", { class: "mono", "data-field": "camera", text: e.camera_id }),
      el("td", { "data-field": "risk" }, risk),
      el("td", { text: e.status }),
      el("td", { class: "num", text: String(e.detection_count) }),
      el("td", { class: "caption", text: state.captions.get(e.id) || "—" }),
    );
  });
  $("events").replaceChildren(...rows);
}

// --- the refresh cycle ----------------------------------------------------------------------------

async function section(id, work) {
  try {
    await work();
    showSectionError(id, null);
    return null;
  } catch (error) {
    if (error.isAuth) return error;
    showSectionError(id, error);
    return null;
  }
}

function refresh() {
  // One refresh at a time; a request made meanwhile (after an action) runs once more at
  // its end, so the caller always sees the state after its own change.
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    do {
      state.refreshAgain = false;
      await refreshOnce();
    } while (state.refreshAgain);
  })().finally(() => {
    state.refreshing = null;
  });
  return state.refreshing;
}

async function refreshOnce() {
  await section("health-error", async () => renderHealth(await api("/health")));
  if (!state.key && !state.authOff) {
    showData(false);
    setAuthMessage(NO_KEY);
    return;
  }
  // The models come first: the latency selector is built from them.
  const denied = await section("models-error", async () => {
    const listing = await api("/api/models");
    state.models = listing.models;
    renderServices(listing.services);
    renderModels(listing.models);
  });
  if (denied) {
    showData(false);
    const why = denied.status === 403 ? "may not read the fleet" : "was refused";
    setAuthMessage(`The saved API key ${why} (${denied.message}). Enter a valid admin API key above.`, true);
    return;
  }
  showData(true);
  setAuthMessage("");
  await Promise.all([
    section("jobs-error", refreshJobs),
    section("latency-error", refreshLatency),
    section("events-error", refreshEvents),
  ]);
  $("last-refresh").textContent = `refreshed ${new Date().toLocaleTimeString()}`;
}

function start() {
  $("key-form").addEventListener("submit", saveKey);
  $("key-forget").addEventListener("click", forgetKey);
  $("alert-close").addEventListener("click", clearAlert);
  $("models").addEventListener("click", onModelAction);
  $("latency-model").addEventListener("change", (event) => {
    state.latencyChoice = event.target.value || null;
    section("latency-error", refreshLatency);
  });
  if (state.key) $("api-key").placeholder = "key saved for this tab";
  refresh();
  window.setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", start);
