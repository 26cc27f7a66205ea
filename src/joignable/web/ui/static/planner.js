// The planner page: the staffing form posts to /api/plan/staffing, the cost form (with the
// staffing form's contacts, interval, handle time, patience and shrinkage) to /api/plan/cost.
// Each answer fills a table; the chart is an SVG image from GET /api/plan/chart with the same
// parameters, described by its alt text and by the table beside it. Percentages typed in the
// forms are sent as shares (80 -> 0.8), as the API takes them.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("planner-data").textContent);
  const t = data.t;
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const number = new Intl.NumberFormat(data.lang, { maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat(data.lang, { style: "percent", maximumFractionDigits: 2 });
  const PLANS = { cheapest: "plan_cheapest", policy: "plan_policy", fixed: "plan_fixed" };

  function showError(text) {
    $("error").textContent = text ? fill(t.error, { m: text }) : "";
  }

  function value(id) {
    const raw = $(id).value.trim();
    return raw === "" ? null : Number(raw);
  }

  function share(id) {
    const v = value(id);
    return v === null ? null : v / 100;
  }

  function arrivals() {
    return $("arrivals")
      .value.split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(Number);
  }

  function staffingInputs() {
    const body = {
      arrivals: arrivals(),
      period: value("period"),
      aht: value("aht"),
      sl: share("sl"),
      within: value("within"),
      model: $("model").value,
      sl_definition: $("sl_definition").value,
      shrinkage: share("shrinkage") || 0,
    };
    if (value("patience") !== null) body.patience = value("patience");
    if (value("max_occupancy") !== null) body.max_occupancy = share("max_occupancy");
    return body;
  }

  function costInputs() {
    const s = staffingInputs();
    const body = {
      arrivals: s.arrivals,
      period: s.period,
      aht: s.aht,
      patience: s.patience,
      shrinkage: s.shrinkage,
      value: value("value"),
      agent_cost: value("agent_cost"),
      give_up_share: share("give_up_share") || 0,
      repeat_cost: value("repeat_cost") || 0,
      callback_share: share("callback_share") || 0,
      callback_cost: value("callback_cost") || 0,
      unanswered: share("unanswered"),
    };
    return body;
  }

  function chartUrl(kind, body) {
    const params = new URLSearchParams({ kind });
    for (const [k, v] of Object.entries(body)) {
      if (v === null || v === undefined) continue;
      if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)));
      else params.append(k, String(v));
    }
    return "/api/plan/chart?" + params.toString();
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        [data.csrf_header]: window.joignable ? window.joignable.csrf() : "",
      },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = (answer && answer.error) || {};
      throw new Error(e.message || String(response.status));
    }
    return answer;
  }

  function clock(seconds) {
    const minutes = Math.floor(seconds / 60) % 1440;
    const pad = (n) => String(n).padStart(2, "0");
    return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  const num = (v) => (v === null || v === undefined ? t.none : number.format(v));
  const pct = (v) => (v === null || v === undefined ? t.none : percent.format(v));

  function row(cells, header) {
    const tr = document.createElement("tr");
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 0 && header ? "th" : "td");
      if (i === 0 && header) cell.scope = "row";
      cell.textContent = text;
      tr.appendChild(cell);
    });
    return tr;
  }

  function headRow(cells) {
    const tr = document.createElement("tr");
    for (const text of cells) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      tr.appendChild(th);
    }
    return tr;
  }

  function showStaffing(body, answer) {
    const single = answer.agents.length === 1;
    $("agents").textContent = fill(single ? t.agents_needed : t.agents_peak, { n: answer.peak });
    const warnings = $("staffing-warnings");
    warnings.replaceChildren(
      ...answer.warnings.map((w) => {
        const li = document.createElement("li");
        li.textContent = w;
        return li;
      }),
    );
    const names = Object.keys(answer.definitions);
    const table = $("staffing-table");
    table
      .querySelector("thead")
      .replaceChildren(
        headRow([
          t.start,
          t.agents,
          t.productive,
          t.load,
          t.p_wait,
          t.p_abandon,
          t.asa,
          t.occupancy,
          ...names,
        ]),
      );
    table.querySelector("tbody").replaceChildren(
      ...answer.intervals.map((r, i) =>
        row(
          [
            clock(i * body.period),
            String(r.agents),
            String(r.productive_agents),
            num(r.load),
            pct(r.p_wait),
            pct(r.p_abandon),
            num(r.asa),
            pct(r.occupancy),
            ...names.map((n) => pct(r.service_level[n])),
          ],
          true,
        ),
      ),
    );
    $("staffing-chart").src = chartUrl("staffing", body);
    $("staffing-details").hidden = false;
  }

  function showCost(body, answer) {
    const money = (v) => num(v);
    $("policy-price").textContent = fill(t.policy_price, { m: money(answer.policy_price) });
    $("plans-table").querySelector("tbody").replaceChildren(
      ...Object.entries(answer.plans).map(([name, d]) =>
        row(
          [
            fill(t[PLANS[name]], { p: number.format(100 * body.unanswered) }),
            num(d.scheduled),
            num(d.abandoned),
            money(d.staff),
            money(d.unanswered),
            money(d.total),
          ],
          true,
        ),
      ),
    );
    const curve = answer.curve || [];
    $("curve-details").hidden = curve.length === 0;
    $("curve-table")
      .querySelector("tbody")
      .replaceChildren(
        ...curve.map((p) =>
          row([String(p.agents), money(p.staff), money(p.unanswered), money(p.total)], true),
        ),
      );
    $("cost-chart").src = chartUrl("cost", body);
    $("cost-details").hidden = false;
  }

  async function submit(form, button, work) {
    showError("");
    if (!form.reportValidity()) return;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = t.computing;
    try {
      await work();
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  $("staffing-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submit(form, form.querySelector("button[type=submit]"), async () => {
      const body = staffingInputs();
      showStaffing(body, await post("/api/plan/staffing", body));
    });
  });

  $("cost-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submit(form, form.querySelector("button[type=submit]"), async () => {
      const body = costInputs();
      if (body.patience === null || body.patience === undefined) {
        $("patience").focus();
        throw new Error(t.needs_patience);
      }
      showCost(body, await post("/api/plan/cost", body));
    });
  });
})();
