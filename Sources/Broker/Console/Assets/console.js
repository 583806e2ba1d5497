// The Rollback console: one ES module, no dependencies. Every call goes to the broker's own
// /v1 API with the session cookie; changes carry the session's CSRF token. Text from the API
// is only ever set as text (never as HTML).

const main = document.getElementById("main");
let session = null;
let stream = null; // the open EventSource of the page shown, closed when the page changes

// ---- helpers ----------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

class APIError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-Rollback-CSRF"] = session?.csrfToken || "";
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new APIError(response.status, json);
  return json;
}

const canOperate = () => session && (session.role === "operator" || session.role === "admin");
const badgeClass = (status) => (["deployed", "rollingBack", "rollbackFailed"].includes(status) ? status : "other");
const statusLabel = { deployed: "deployed", rollingBack: "rolling back", rollbackFailed: "rollback failed" };

function badges(project) {
  return [
    h("span", { class: `badge ${badgeClass(project.status)}`, "data-status": project.status },
      statusLabel[project.status] || project.status),
    project.frozen ? h("span", { class: "badge frozen", title: project.frozen.reason || "" }, "frozen") : null,
  ];
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function bytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function duration(ms) {
  if (ms === undefined || ms === null) return "";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/// `replaceChildren` without the nulls of optional parts (it would print "null").
function show(container, ...children) {
  container.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

function showError(container, error) {
  container.append(h("p", { class: "error", role: "alert" }, error.message));
}

function closeStream() {
  if (stream) { stream.close(); stream = null; }
}

// ---- pages ------------------------------------------------------------------------------

async function projectsPage() {
  const list = await api("GET", "/v1/projects?limit=200");
  const rows = list.projects.map((project) =>
    h("tr", { "data-project": project.projectId },
      h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(project.projectId)}` }, project.projectId)),
      h("td", {}, badges(project)),
      h("td", { class: "mono" }, project.currentVersionId || ""),
      h("td", {}, project.host),
      h("td", {}, project.status === "rollingBack" ? liveBar(project.projectId) : "")));
  main.replaceChildren(
    h("h1", {}, "Projects"),
    h("p", { class: "muted" }, `${list.projects.length} project(s)${list.nextCursor ? " (first 200)" : ""}`),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Project", "Status", "Current version", "Host", "Rollback"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

/// A small bar for a project rolling back, fed by its event stream (new events only).
function liveBar(projectId) {
  const bar = h("div", { class: "bar" }, h("span"));
  const events = new EventSource(`/v1/projects/${encodeURIComponent(projectId)}/events?after=latest`);
  events.addEventListener("rollbackProgress", (event) => {
    bar.firstChild.style.width = `${JSON.parse(event.data).percent}%`;
  });
  for (const type of ["rollbackCompleted", "rollbackFailed", "rollbackCanceled"]) {
    events.addEventListener(type, () => { events.close(); route(); });
  }
  window.addEventListener("hashchange", () => events.close(), { once: true });
  return bar;
}

async function projectPage(projectId) {
  const path = `/v1/projects/${encodeURIComponent(projectId)}`;
  const [project, versions, history] = await Promise.all([
    api("GET", path), api("GET", `${path}/versions`), api("GET", `${path}/history?limit=50`),
  ]);
  const inflight = h("div", { class: "card inflight", id: "inflight", hidden: project.status !== "rollingBack" });
  const actions = canOperate() ? actionsCard(project, versions) : null;
  show(main,
    h("p", {}, h("a", { href: "#/" }, "← Projects")),
    h("h1", {}, projectId, " ", badges(project)),
    h("p", { class: "muted" },
      "current version ", h("span", { class: "mono", id: "current-version" }, project.currentVersionId || "none"),
      project.previewUrl ? [" · preview ", h("a", { href: project.previewUrl, rel: "noreferrer" }, project.previewUrl)] : null,
      project.frozen ? ` · frozen by ${project.frozen.by}: ${project.frozen.reason || ""}` : null),
    inflight,
    actions,
    h("h2", {}, "Timeline"),
    timeline(history.entries));
  followRollback(projectId, project, inflight);
}

function timeline(entries) {
  const rows = entries.map((entry) =>
    h("tr", { "data-kind": entry.kind },
      h("td", {}, when(entry.at)),
      h("td", {}, entry.kind),
      h("td", { class: "actor" }, entry.actor || ""),
      h("td", {}, entry.reason || ""),
      h("td", {}, h("span", { class: `badge ${entry.outcome === "failed" ? "failed" : entry.outcome === "succeeded" ? "deployed" : "other"}` }, entry.outcome)),
      h("td", {}, duration(entry.durationMilliseconds)),
      h("td", { class: "mono" }, entry.toVersionId || ""),
      h("td", { class: "mono" }, entry.commitId ? entry.commitId.slice(0, 10) : "", entry.tag ? ` ${entry.tag}` : "")));
  return h("table", { id: "timeline" },
    h("thead", {}, h("tr", {}, ["When", "What", "Who", "Why", "Outcome", "Took", "Version", "Commit, tag"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}

/// The rollback in flight: phase, percent, bytes and ETA, pushed by the event stream.
function followRollback(projectId, project, panel) {
  closeStream();
  const bar = h("div", { class: "bar", id: "progress" }, h("span"));
  const label = h("span", { id: "progress-label" }, project.status === "rollingBack" ? "rolling back…" : "");
  const detail = h("div", { class: "muted", id: "progress-detail" });
  panel.replaceChildren(h("strong", {}, "Rollback in flight"), label, bar, detail);
  let started = null;
  stream = new EventSource(`/v1/projects/${encodeURIComponent(projectId)}/events?after=latest`);
  stream.addEventListener("rollbackStarted", (event) => {
    const data = JSON.parse(event.data);
    if (data.skipWorkingDirectory) return;
    panel.hidden = false;
    started = Date.now();
    bar.className = "bar";
    bar.firstChild.style.width = "0%";
    label.textContent = "0 % · queued";
    detail.textContent = `to ${data.targetVersionId}`;
  });
  stream.addEventListener("rollbackProgress", (event) => {
    const data = JSON.parse(event.data);
    panel.hidden = false;
    started = started || Date.now();
    bar.firstChild.style.width = `${data.percent}%`;
    let eta = "";
    if (data.percent > 0 && data.percent < 100) {
      const left = ((Date.now() - started) / data.percent) * (100 - data.percent);
      eta = ` · about ${Math.ceil(left / 1000)} s left`;
    }
    label.textContent = `${data.percent} % · ${data.phase}`;
    detail.textContent = data.bytesTotal ? `${bytes(data.bytesDone)} of ${bytes(data.bytesTotal)}${eta}` : eta.slice(3);
  });
  const finish = (state, text) => async (event) => {
    const data = JSON.parse(event.data);
    panel.hidden = false;
    bar.className = `bar ${state}`;
    if (state === "done") bar.firstChild.style.width = "100%";
    label.textContent = state === "done" ? "100 % · completed" : text;
    detail.textContent = state === "done"
      ? `commit ${String(data.commitId || "").slice(0, 10)} ${data.tag || ""} in ${duration(data.durationMilliseconds)}`
      : data.errorMessage || data.reason || "";
    // The header, buttons and timeline follow the outcome.
    const [fresh, history] = await Promise.all([
      api("GET", `/v1/projects/${encodeURIComponent(projectId)}`),
      api("GET", `/v1/projects/${encodeURIComponent(projectId)}/history?limit=50`),
    ]);
    document.getElementById("timeline")?.replaceWith(timeline(history.entries));
    const heading = main.querySelector("h1");
    heading.replaceChildren(projectId, " ", ...badges(fresh).filter(Boolean));
    const current = document.getElementById("current-version");
    if (current) current.textContent = fresh.currentVersionId || "none";
    document.getElementById("cancel")?.setAttribute("hidden", "");
  };
  stream.addEventListener("rollbackCompleted", finish("done"));
  stream.addEventListener("rollbackFailed", finish("failed", "failed (the project was restored)"));
  stream.addEventListener("rollbackCanceled", finish("failed", "canceled (nothing was changed)"));
}

function actionsCard(project, versions) {
  const path = `/v1/projects/${encodeURIComponent(project.projectId)}`;
  const choices = versions.versions.filter((v) => v.versionId !== project.currentVersionId).reverse();
  const target = h("select", { name: "target", "aria-label": "Target version" },
    h("option", { value: "previous" }, "previous version"),
    choices.map((v) => h("option", { value: v.versionId }, `${v.versionId}${v.kind === "rollback" ? " (rollback)" : ""}`)));
  const reason = h("input", { name: "reason", placeholder: "Why (required)", required: true, maxlength: "500" });
  const messages = h("div", { id: "action-messages" });
  const previewBox = h("div", { class: "preview", id: "preview" });
  const body = () => ({ userId: session.actor, projectId: project.projectId, targetVersionId: target.value });

  async function run(action) {
    messages.replaceChildren();
    try { await action(); } catch (error) { showError(messages, error); }
  }
  const rollback = h("button", { type: "submit", class: "primary", id: "rollback" }, "Roll back");
  const preview = h("button", { type: "button", id: "preview-button", onclick: () => run(async () => {
    const answer = await api("POST", "/v1/versions/rollback/preview", { ...body(), limit: 200 });
    const list = (title, items) => items.length ? [h("strong", {}, `${title} (${items.length})`), h("ul", {}, items.map((i) => h("li", { class: "mono" }, i)))] : [];
    show(previewBox,
      h("p", {}, `${answer.counts.added} added, ${answer.counts.changed} changed, ${answer.counts.removed} removed · ${bytes(answer.bytesToWrite)} to write`),
      list("Added", answer.added), list("Changed", answer.changed), list("Removed", answer.removed),
      answer.truncated ? h("p", { class: "muted" }, "(first 200 of each)") : null);
  }) }, "Preview");
  const form = h("form", { class: "actions", id: "rollback-form", onsubmit: (event) => {
    event.preventDefault();
    run(async () => {
      if (!reason.value.trim()) throw new Error("Say why: the reason is kept in the timeline and the audit log.");
      if (!window.confirm(`Roll back ${project.projectId} to ${target.value}?\n\nReason: ${reason.value}`)) return;
      await api("POST", "/v1/versions/rollback", { ...body(), reason: reason.value.trim() });
      reason.value = "";
    });
  } }, target, reason, preview, rollback);
  const cancel = h("button", { type: "button", class: "danger", id: "cancel", hidden: project.status !== "rollingBack",
    onclick: () => run(async () => {
      if (!window.confirm(`Cancel the rollback of ${project.projectId}?`)) return;
      await api("POST", `${path}/rollback/cancel`, { userId: session.actor, reason: "canceled from the console" });
    }) }, "Cancel rollback");
  const freeze = project.frozen
    ? h("button", { type: "button", id: "unfreeze", onclick: () => run(async () => {
      await api("POST", `${path}/unfreeze`, { userId: session.actor, reason: "unfrozen from the console" });
      route();
    }) }, "Unfreeze")
    : h("button", { type: "button", id: "freeze", onclick: () => run(async () => {
      const why = window.prompt("Freeze: new builds are held until unfrozen. Why?");
      if (!why) return;
      await api("POST", `${path}/freeze`, { userId: session.actor, reason: why });
      route();
    }) }, "Freeze");
  return h("div", { class: "card", id: "actions" },
    h("h2", {}, "Actions"), form, h("p", {}, cancel, " ", freeze), messages, previewBox);
}

// ---- routing and start ------------------------------------------------------------------

async function route() {
  closeStream();
  const match = location.hash.match(/^#\/projects\/([^/]+)$/);
  try {
    if (match) await projectPage(decodeURIComponent(match[1]));
    else await projectsPage();
  } catch (error) {
    main.replaceChildren();
    showError(main, error);
  }
}

async function start() {
  try {
    session = await api("GET", "/console/session");
  } catch (error) {
    show(main,
      h("h1", {}, "Not signed in"),
      h("p", {}, "Ask the broker for a sign-in link, then open it:"),
      h("pre", { class: "mono" }, "rollbackctl console --broker-keyring <your key file>"),
      error.code === "session_ended" ? null : h("p", { class: "error" }, error.message));
    return;
  }
  document.getElementById("who").textContent = `${session.actor} · ${session.role}`;
  const logout = document.getElementById("logout");
  logout.hidden = false;
  logout.addEventListener("click", async () => {
    await fetch("/console/logout", { method: "POST", headers: { "X-Rollback-CSRF": session.csrfToken } });
    location.reload();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
