// The supervisor wallboard (web/wallboard_page.py says why it works this way). Every figure comes
// from a server snapshot stamped with its ledger seq: the page never adds events up itself, so a
// reconnect or a repeated event cannot count anything twice. The stream only says when to fetch.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("wallboard-data").textContent);
  const t = data.t;
  const lang = data.lang;
  const locale = lang === "fr" ? "fr-FR" : "en-GB";
  const definition = data.definition.name;
  const POLL_MS = 5000; // time alone starts some alerts; also the fallback without the stream
  const MIN_GAP_MS = 1000; // at most one refresh a second, however busy the center

  // thresholds in the page's address go to the alerts endpoint; today starts at local midnight
  const query = new URLSearchParams(window.location.search);
  const alertParams = new URLSearchParams();
  for (const k of data.thresholds) if (query.has(k)) alertParams.set(k, query.get(k));
  alertParams.set("tz", Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");

  let lastSeq = data.seq; // the newest seq seen, from the stream or a snapshot
  let shownSeq = -1; // the seq the figures on screen reflect
  let snap = null; // {alerts, live, intervals, receivedAt}
  let inFlight = false;
  let again = false;
  let lastFetch = 0;
  let timer = null;
  let streamOpen = false;

  const $ = (id) => document.getElementById(id);
  const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

  function duration(seconds) {
    if (seconds == null) return "–";
    const s = Math.floor(seconds + 0.5);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`;
  }

  function pct(ratio, digits = 1) {
    if (ratio == null) return "–";
    const n = (ratio * 100).toFixed(digits);
    return lang === "fr" ? `${n.replace(".", ",")} %` : `${n}%`;
  }

  function clock(at) {
    return new Date(at * 1000).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }

  function showError(text) {
    $("error").textContent = text || "";
  }

  function toLogin() {
    const here = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(here));
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) {
      toLogin();
      throw new Error("unauthenticated");
    }
    if (!r.ok) throw new Error((body.error && body.error.message) || `HTTP ${r.status}`);
    return body;
  }

  function localMidnight() {
    const d = new Date();
    d.setHours(0, 0, 0, 0);
    return d.getTime() / 1000;
  }

  // -- fetching --------------------------------------------------------------------------------

  async function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    lastFetch = Date.now();
    try {
      const [alerts, live, intervals] = await Promise.all([
        getJSON("/api/stats/alerts?" + alertParams),
        getJSON("/api/stats/live"),
        getJSON("/api/stats/intervals?start=" + localMidnight()),
      ]);
      const seq = Math.min(alerts.seq, live.seq, intervals.seq);
      if (seq >= shownSeq) {
        // never go back to an older picture
        shownSeq = seq;
        lastSeq = Math.max(lastSeq, seq);
        snap = { alerts, live, intervals, receivedAt: performance.now() };
        render();
        showError("");
      }
    } catch (err) {
      if (err.message !== "unauthenticated") showError(fmt(t.error, { m: err.message }));
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  }

  function schedule(delay) {
    if (timer !== null) return;
    const wait = Math.max(delay, MIN_GAP_MS - (Date.now() - lastFetch));
    timer = setTimeout(() => {
      timer = null;
      refresh();
    }, wait);
  }

  // -- the stream: when to fetch -----------------------------------------------------------------

  let backoff = 500;

  function setStream(open) {
    streamOpen = open;
    $("stream-status").hidden = open;
    renderUpdated();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    // resume after the newest seq already reflected or seen: a short backlog, nothing counted twice
    const ws = new WebSocket(`${scheme}//${window.location.host}/api/stream?after=${lastSeq}`);
    ws.addEventListener("open", () => {
      backoff = 500;
      setStream(true);
      schedule(0); // whatever happened while it was down
    });
    ws.addEventListener("message", (event) => {
      const m = JSON.parse(event.data);
      if (typeof m.seq === "number" && m.seq > lastSeq) {
        lastSeq = m.seq;
        if (m.seq > shownSeq) schedule(200);
      }
    });
    ws.addEventListener("close", (event) => {
      setStream(false);
      if (event.code === 4401) return toLogin();
      if (event.code === 4403) return; // not allowed: polling shows the error
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  }

  // -- rendering ---------------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, parent, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  function elapsed() {
    return snap ? (performance.now() - snap.receivedAt) / 1000 : 0;
  }

  // a cell whose duration runs on between fetches
  function ticking(td, base) {
    if (base == null) {
      td.textContent = "–";
      return td;
    }
    td.dataset.base = String(base);
    td.classList.add("ticking");
    td.textContent = duration(base + elapsed());
    return td;
  }

  function tick() {
    const dt = elapsed();
    for (const td of document.querySelectorAll("td.ticking")) {
      td.textContent = duration(Number(td.dataset.base) + dt);
    }
  }

  function renderUpdated() {
    if (!snap) return;
    const parts = [fmt(t.updated, { time: clock(snap.alerts.at) })];
    if (streamOpen) parts.push(t.live);
    $("updated").textContent = parts.join(" · ");
  }

  function renderAlerts(list) {
    const ul = $("alerts");
    const old = new Map(Array.from(ul.children, (li) => [li.dataset.key, li]));
    list.forEach((a, i) => {
      let li = old.get(a.key);
      old.delete(a.key);
      if (!li) {
        li = el("li", { "data-key": a.key });
        // a critical alert is announced at once; the others through the list's polite region
        if (a.severity === "critical") li.setAttribute("role", "alert");
        li.append(el("strong", { class: "severity" }), " ", el("span", { class: "text" }));
      }
      li.className = `wb-alert ${a.severity}`;
      li.dataset.code = a.code;
      li.dataset.queue = a.queue || "";
      li.dataset.contacts = a.contacts.join(" ");
      li.dataset.agents = a.agents.join(" ");
      const sev = fmt(t.severity, { severity: t[a.severity] || a.severity });
      const text = a.text[lang] || a.text.en;
      if (li.firstChild.textContent !== sev) li.firstChild.textContent = sev;
      if (li.lastChild.textContent !== text) li.lastChild.textContent = text;
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    for (const li of old.values()) li.remove();
    $("no-alerts").hidden = list.length > 0;
  }

  function renderQueues() {
    const { alerts, live } = snap;
    const tbody = $("queues").tBodies[0];
    const ids = Array.from(new Set([...Object.keys(live.queues), ...Object.keys(alerts.queues)])).sort();
    const liveAge = Math.max(0, alerts.at - live.at); // both taken within one fetch
    const rows = ids.map((q) => {
      const L = live.queues[q] || { agents: {} };
      const K = alerts.today[q] || null;
      const Q = alerts.queues[q] || {};
      const tr = el("tr", { "data-queue": q });
      tr.append(el("th", { scope: "row" }, Q.name || q));
      const cell = (field, text) => {
        const td = el("td", { "data-field": field }, text);
        tr.append(td);
        return td;
      };
      cell("waiting", String(L.waiting || 0));
      ticking(cell("longest_wait"), L.longest_wait == null ? null : L.longest_wait + liveAge);
      const sl = K ? K.sl[definition] : null;
      const slCell = cell("sl", pct(sl));
      if (sl != null && Q.sl_target != null) {
        const under = sl < Q.sl_target;
        slCell.classList.add(under ? "under" : "on");
        slCell.append(" ", el("span", { class: "mark" }, `(${under ? t.under_target : t.on_target})`));
      }
      cell("target", Q.sl_target == null ? "–" : fmt(t.target_value, { target: pct(Q.sl_target, 0), threshold: duration(Q.sl_threshold) }));
      const decided = K ? K.offered - K.waiting : 0;
      cell("abandon_rate", decided > 0 ? pct(K.abandoned / decided) : "–");
      cell("abandoned", String(K ? K.abandoned : 0));
      cell("handled", String(K ? K.handled : 0));
      cell("offered", String(K ? K.offered : 0));
      const cb = [L.callbacks_waiting || 0, L.callbacks_scheduled || 0, K ? K.callbacks_requested : 0];
      cell("callbacks", cb.join(" / ")).setAttribute(
        "aria-label",
        fmt(t.callbacks_value, { line: cb[0], scheduled: cb[1], today: cb[2] }),
      );
      const a = L.agents || {};
      const busy = (a.busy || 0) + (a.reserved || 0) + (a["wrap-up"] || 0);
      cell("agents", `${a.available || 0} / ${busy}`);
      return tr;
    });
    tbody.replaceChildren(...rows);
  }

  function stateText(state) {
    return t[`state_${state}`] || state;
  }

  function renderAgents() {
    const { live } = snap;
    const counts = data.states
      .filter((s) => live.agents_by_state[s])
      .map((s) => `${stateText(s)} ${live.agents_by_state[s]}`);
    $("by-state").textContent = `${t.by_state}: ${counts.join(" · ") || "–"}`;
    const ids = Object.keys(live.agents).sort();
    const rows = ids.map((id) => {
      const a = live.agents[id];
      const tr = el("tr", { "data-agent": id, "data-state": a.state });
      const name = (snap.alerts.agents[id] || {}).name;
      tr.append(el("th", { scope: "row" }, name ? `${name} (${id})` : id));
      tr.append(el("td", { "data-field": "state", class: `state ${a.state}` }, stateText(a.state)));
      tr.append(ticking(el("td", { "data-field": "time_in_state" }), a.seconds_in_state));
      return tr;
    });
    if (!ids.length) {
      const tr = el("tr");
      tr.append(el("td", { colspan: "3" }, t.no_agents));
      rows.push(tr);
    }
    $("agents").tBodies[0].replaceChildren(...rows);
  }

  // -- charts: inline SVG, each with its table --------------------------------------------------

  const W = 420;
  const H = 180;
  const M = { left: 46, right: 8, top: 12, bottom: 26 };

  function axes(root, n, step, start, yLabels) {
    const plotH = H - M.top - M.bottom;
    for (const [frac, label] of yLabels) {
      const y = M.top + plotH * (1 - frac);
      svg("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: "grid" }, root);
      svg("text", { x: M.left - 4, y: y + 4, class: "ylabel" }, root, label);
    }
    const every = Math.max(1, Math.ceil(n / 8));
    const groupW = (W - M.left - M.right) / n;
    for (let i = 0; i < n; i += every) {
      svg("text", { x: M.left + groupW * (i + 0.5), y: H - 6, class: "xlabel" }, root, clock(start + i * step));
    }
    return { plotH, groupW };
  }

  function volumeChart(rows, n, step, start, title, id) {
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": id, class: "wb-chart" });
    svg("title", { id }, root, title);
    const max = Math.max(1, ...rows.map((r) => r.offered));
    const { plotH, groupW } = axes(root, n, step, start, [[0, "0"], [1, String(max)]]);
    const barW = (groupW * 0.8) / 3;
    for (const r of rows) {
      const i = Math.round((r.start - start) / step);
      ["offered", "handled", "abandoned"].forEach((k, j) => {
        const h = (plotH * r[k]) / max;
        const x = M.left + groupW * i + groupW * 0.1 + barW * j;
        svg("rect", { x, y: M.top + plotH - h, width: Math.max(1, barW - 1), height: h, class: `bar ${k}` }, root);
      });
    }
    return root;
  }

  function slChart(rows, n, step, start, target, title, id) {
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": id, class: "wb-chart" });
    svg("title", { id }, root, title);
    const { plotH, groupW } = axes(root, n, step, start, [[0, "0%"], [0.5, "50%"], [1, "100%"]]);
    const y = (v) => M.top + plotH * (1 - v);
    if (target != null) {
      svg("line", { x1: M.left, x2: W - M.right, y1: y(target), y2: y(target), class: "target" }, root);
    }
    const pts = rows
      .filter((r) => r.sl[definition] != null)
      .map((r) => [M.left + groupW * (Math.round((r.start - start) / step) + 0.5), y(r.sl[definition])]);
    if (pts.length > 1) svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), class: "sl-line" }, root);
    for (const [cx, cy] of pts) svg("circle", { cx, cy, r: 3, class: "sl-point" }, root);
    return root;
  }

  function chartTable(rows, caption) {
    const table = el("table", { class: "wb-table" });
    table.append(el("caption", {}, caption));
    const head = el("tr");
    for (const h of [t.interval, t.offered, t.handled, t.abandoned, t.sl]) head.append(el("th", { scope: "col" }, h));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = table.appendChild(el("tbody"));
    for (const r of rows) {
      const tr = el("tr", { "data-start": String(r.start) });
      tr.append(el("th", { scope: "row" }, clock(r.start)));
      tr.append(el("td", { "data-field": "offered" }, String(r.offered)));
      tr.append(el("td", { "data-field": "handled" }, String(r.handled)));
      tr.append(el("td", { "data-field": "abandoned" }, String(r.abandoned)));
      tr.append(el("td", { "data-field": "sl" }, pct(r.sl[definition])));
      body.append(tr);
    }
    return table;
  }

  function legend() {
    const p = el("p", { class: "wb-legend" });
    for (const k of ["offered", "handled", "abandoned"]) {
      p.append(el("span", { class: `swatch ${k}`, "aria-hidden": "true" }), ` ${t[k]} `);
    }
    return p;
  }

  function renderCharts() {
    const { intervals, alerts } = snap;
    const box = $("charts");
    const open = new Set(Array.from(box.querySelectorAll("details[open]"), (d) => d.dataset.queue));
    const step = intervals.interval;
    const rows = intervals.intervals;
    if (!rows.length) {
      box.replaceChildren(el("p", {}, t.no_activity));
      return;
    }
    const start = Math.min(...rows.map((r) => r.start));
    const now = alerts.at - (alerts.at % step);
    const n = Math.max(1, Math.round((Math.max(now, ...rows.map((r) => r.start)) - start) / step) + 1);
    const byQueue = new Map();
    for (const r of rows) {
      if (!byQueue.has(r.queue)) byQueue.set(r.queue, []);
      byQueue.get(r.queue).push(r);
    }
    const figures = Array.from(byQueue.keys()).sort().map((q) => {
      const qrows = byQueue.get(q);
      const Q = alerts.queues[q] || {};
      const name = Q.name || q;
      const fig = el("figure", { class: "wb-figure", "data-queue": q });
      fig.append(el("figcaption", {}, name));
      fig.append(volumeChart(qrows, n, step, start, fmt(t.chart_volume, { queue: name }), `vol-${q}`));
      fig.append(legend());
      const target = Q.sl_target == null ? null : Q.sl_target;
      fig.append(slChart(qrows, n, step, start, target, fmt(t.chart_sl, { queue: name, target: pct(target, 0) }), `sl-${q}`));
      const details = el("details", { "data-queue": q });
      if (open.has(q)) details.open = true;
      const caption = fmt(t.chart_table, { queue: name });
      details.append(el("summary", {}, caption), chartTable(qrows, caption));
      fig.append(details);
      return fig;
    });
    box.replaceChildren(...figures);
  }

  function render() {
    const cfg = snap.alerts.config;
    $("thresholds").textContent = fmt(t.thresholds, {
      long_wait: duration(cfg.long_wait),
      sl_risk: pct(cfg.sl_risk, 0),
      idle_grace: duration(cfg.idle_grace),
    });
    renderUpdated();
    renderAlerts(snap.alerts.alerts);
    renderQueues();
    renderAgents();
    renderCharts();
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    connect();
    setInterval(() => schedule(0), POLL_MS);
    setInterval(tick, 1000);
  });
})();
