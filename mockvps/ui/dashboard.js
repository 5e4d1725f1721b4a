// The mockvps dashboard: plain JavaScript over the control API, refreshed every second.
"use strict";

const state = { account: null, entries: [], token: sessionStorage.getItem("mockvps-admin-token") || "" };
const $ = (selector) => document.querySelector(selector);

async function control(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(`/_mockvps${path}`, { method, headers, body: body && JSON.stringify(body) });
  if (response.status === 401) {
    $("#token-panel").hidden = false;
    throw new Error("this mock has an admin token: enter it above");
  }
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (className) td.className = className;
  return td;
}

function fill(table, rows, render) {
  const body = $(`${table} tbody`);
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    render(row, tr);
    return tr;
  }));
}

function until(nextAt, now) {
  if (!nextAt) return "when advanced";
  const seconds = Math.max(0, Math.round((Date.parse(nextAt) - Date.parse(now)) / 1000));
  return seconds >= 60 ? `in ${Math.floor(seconds / 60)} min ${seconds % 60} s` : `in ${seconds} s`;
}

async function refresh() {
  const clock = await control("GET", "/clock");
  $("#clock-now").textContent = clock.now;
  $("#clock-state").textContent = `${clock.frozen ? "frozen" : "running"}, offset ${clock.offset_seconds} s`;

  const accounts = await control("GET", "/accounts");
  if (!accounts.some((a) => a.name === state.account)) state.account = accounts.length ? accounts[0].name : null;
  fill("#accounts", accounts, (a, tr) => {
    tr.append(cell(a.name), cell(a.balance), cell(a.mode), cell(a.servers));
    tr.dataset.account = a.name;
    if (a.name === state.account) tr.classList.add("selected");
    tr.onclick = () => { state.account = a.name; refresh(); };
  });
  $("#selected-account").textContent = state.account || "…";
  $("#tokens-account").textContent = state.account || "…";

  if (state.account) {
    const [servers, accountClock, tokens] = await Promise.all([
      control("GET", `/accounts/${encodeURIComponent(state.account)}/servers`),
      control("GET", `/accounts/${encodeURIComponent(state.account)}/clock`),
      control("GET", `/accounts/${encodeURIComponent(state.account)}/tokens`),
    ]);
    fill("#tokens", tokens, (t, tr) => {
      tr.append(cell(t.name), cell(t.permissions.length ? t.permissions.join(", ") : "(none)"));
    });
    fill("#servers", servers, (s, tr) => {
      tr.dataset.server = s.id;
      const next = s.next_status ? `${s.next_status} ${until(s.next_at, accountClock.now)}` : null;
      tr.append(cell(s.id), cell(s.name), cell(s.status, `status status-${s.status}`), cell(s.ip_address),
        cell(s.plan.name), cell(next));
    });
  }

  const faults = await control("GET", "/faults");
  fill("#faults", faults, (f, tr) => {
    const matches = [f.method, f.path, f.operation, f.account && `account ${f.account}`].filter(Boolean).join(" ");
    const does = f.drop ? "drop the connection"
      : [f.latency_ms && `wait ${f.latency_ms.join("–")} ms`, f.status && `answer ${f.status}`].filter(Boolean).join(", ");
    tr.append(cell(f.id), cell(matches || "every request"), cell(does), cell(f.matched), cell(f.times ?? "∞"));
  });

  await refreshCoverage();

  const query = new URLSearchParams({ limit: "50" });
  for (const [name, input] of [["method", "#filter-method"], ["status", "#filter-status"], ["path", "#filter-path"]]) {
    const value = $(input).value.trim();
    if (value) query.set(name, name === "method" ? value.toUpperCase() : value);
  }
  state.entries = await control("GET", `/journal?${query}`);
  fill("#journal", state.entries, (e, tr) => {
    tr.append(cell(e.time), cell(e.account), cell(e.method), cell(e.path + (e.query ? `?${e.query}` : "")), cell(e.status));
    tr.onclick = () => show(e);
  });
}

async function refreshCoverage() {
  const mine = $("#coverage-account").checked && state.account;
  const report = await control("GET", mine ? `/accounts/${encodeURIComponent(state.account)}/coverage` : "/coverage");
  const s = report.summary;
  const part = (name) => `${name} ${s[name].seen}/${s[name].documented}`;
  $("#coverage-summary").textContent = `${s.seen} of ${s.documented} seen (${s.percent}%): `
    + ["statuses", "transitions", "refusals", "faults"].map(part).join(", ");
  const rows = report.operations.filter((o) => o.operation);
  const codes = [...new Set(rows.flatMap((o) => Object.keys(o.statuses).filter((c) => o.statuses[c].documented)))]
    .sort((a, b) => a - b);
  const head = document.createElement("tr");
  head.append(...["operation", ...codes, "undocumented"].map((text) => {
    const th = document.createElement("th");
    th.textContent = text;
    return th;
  }));
  $("#coverage thead").replaceChildren(head);
  fill("#coverage", rows, (o, tr) => {
    tr.append(cell(o.operation));
    for (const code of codes) {
      const entry = o.statuses[code];
      const td = cell(entry && entry.documented ? (entry.seen || "–") : "");
      td.dataset.operation = o.operation;
      td.dataset.status = code;
      if (entry && entry.documented && entry.seen) td.className = "seen";
      if (entry && entry.documented && !entry.seen) {
        td.className = "unseen";
        td.title = entry.hint;
        td.onclick = () => {
          $("#coverage-hint").hidden = false;
          $("#coverage-hint").textContent = `${code} on ${o.operation}: ${entry.hint}`;
        };
      }
      tr.append(td);
    }
    const others = Object.entries(o.statuses).filter(([, e]) => !e.documented).map(([c, e]) => `${c}×${e.seen}`);
    tr.append(cell(others.join(" "), "undocumented"));
  });
}

function show(entry) {
  $("#entry").hidden = false;
  $("#entry-title").textContent = `${entry.method} ${entry.path} → ${entry.status}`;
  $("#entry-body").textContent = entry.body === null ? "(none)" : JSON.stringify(entry.body, null, 2);
  $("#entry-answer").textContent = entry.answer === null ? "(none)" : JSON.stringify(entry.answer, null, 2);
}

// Opened through `mockvps proxy`, which answers /_mockvps/drift itself: the departures it has seen so far.
// Opened on a mock, that path is not found and the panel stays hidden.
async function refreshDrift() {
  const response = await fetch("/_mockvps/drift");
  if (!response.ok) {
    $("#drift-panel").hidden = true;
    return;
  }
  const drift = await response.json();
  $("#drift-panel").hidden = false;
  $("#drift-summary").textContent =
    `(mockvps proxy to ${drift.upstream}: ${drift.exchanges} exchanges, ${drift.departures.length} departures)`;
  fill("#drift", drift.departures, (d, tr) => {
    tr.dataset.kind = d.kind;
    tr.append(cell(d.side), cell(d.operation), cell(d.kind), cell(d.severity, `severity-${d.severity}`),
      cell(d.count), cell(d.detail));
  });
}

async function act(method, path, body) {
  try {
    await control(method, path, body);
    await refresh();
  } catch (error) {
    $("#status-line").textContent = error.message;
  }
}

for (const button of document.querySelectorAll("[data-advance]")) {
  button.onclick = () => act("POST", "/clock/advance", { seconds: Number(button.dataset.advance) });
}
$("#freeze").onclick = () => act("POST", "/clock/freeze");
$("#coverage-reset").onclick = () => act("DELETE", "/coverage");
$("#coverage-account").onchange = () => act("GET", "/health");
$("#unfreeze").onclick = () => act("POST", "/clock/unfreeze");
$("#use-token").onclick = () => {
  state.token = $("#admin-token").value;
  sessionStorage.setItem("mockvps-admin-token", state.token);
  $("#token-panel").hidden = true;
  act("GET", "/health");
};

async function loop() {
  try {
    await refresh();
    $("#status-line").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $("#status-line").textContent = error.message;
  }
  try {
    await refreshDrift();
  } catch (error) {
    $("#drift-panel").hidden = true;
  }
  setTimeout(loop, 1000);
}
loop();
