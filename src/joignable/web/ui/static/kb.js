// The knowledge page of experts and supervisors: search as you type (each result says why it
// matched), the review queue (publish, send back with a comment, submit), gaps turned into
// drafts, suggested synonyms and content health. Everything goes through /api/kb with the
// session cookie; writes carry the page's CSRF token.
"use strict";

(function () {
  const t = JSON.parse(document.getElementById("kb-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const { el, fill, searcher, showHits } = window.joignableKb;
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const call = (method, path, body) => window.joignableKb.call(method, path, body, () => token);
  const main = $("kb");
  const canEdit = main.dataset.canEdit === "true";
  const canPublish = main.dataset.canPublish === "true";

  function say(text) {
    $("kb-status").textContent = text;
    $("kb-error").textContent = "";
  }

  function fail(err) {
    $("kb-error").textContent = fill(t.error, { m: err.message });
  }

  // -- search --------------------------------------------------------------------------------
  const list = $("kb-results");
  const search = searcher({
    query: () => $("kb-query").value,
    list,
    find(q) {
      const params = new URLSearchParams({ q, audience: $("kb-audience").value, k: "8" });
      if ($("kb-lang").value) params.set("lang", $("kb-lang").value);
      return call("GET", `/api/kb/search?${params}`);
    },
    show: (found) =>
      showHits(list, found.results, {
        empty: t.no_result,
        head: (hit) => el("strong", hit.title),
        meta: (hit) => ` · ${hit.kind} · ${hit.key}`,
        why: (reasons) => `${t.why}: ${reasons}`,
        sep: " · ",
      }),
    fail,
  });

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search.now();
  });
  for (const id of ["kb-query", "kb-lang", "kb-audience"]) {
    $(id).addEventListener("input", search.later);
  }

  // -- review --------------------------------------------------------------------------------

  function note() {
    return $("kb-note").value.trim();
  }

  async function act(version, action, done) {
    const base = `/api/kb/items/${version.kind}/${encodeURIComponent(version.id)}/versions/${version.version}`;
    try {
      if (note() && action !== "send-back") {
        await call("POST", `${base}/comment`, { text: note() });
      }
      if (action === "publish") await call("POST", `${base}/publish`, { force: false });
      else if (action === "send-back") await call("POST", `${base}/send-back`, { text: note() });
      else if (action === "submit") await call("POST", `${base}/submit`);
      $("kb-note").value = "";
      say(done);
      await load();
    } catch (err) {
      fail(err);
    }
  }

  function button(label, onClick) {
    const b = el("button", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function versionItem(v, inReview) {
    const item = el("li");
    item.append(el("strong", v.title));
    const unreviewed = v.unreviewed && v.unreviewed.length ? ` · ${v.unreviewed.join(", ")}` : "";
    item.append(
      el("span", ` · ${v.key} · ${fill(t.version, { n: v.version })} · ${fill(t.by, { who: v.owner })}${unreviewed}`, "meta"),
    );
    const comments = (v.history || []).filter((c) => c.action === "comment" || c.note);
    if (comments.length) {
      const notes = el("ul", undefined, "notes");
      for (const c of comments) notes.append(el("li", `${c.who}: ${c.note}`));
      item.append(notes);
    }
    const actions = el("p", undefined, "actions");
    if (inReview && canPublish) {
      actions.append(button(t.publish, () => act(v, "publish", t.published)));
    }
    if (inReview && canEdit) {
      actions.append(button(t.send_back, () => act(v, "send-back", t.sent_back)));
    }
    if (!inReview && canEdit) {
      actions.append(button(t.submit, () => act(v, "submit", t.submitted)));
    }
    if (actions.childElementCount) item.append(actions);
    return item;
  }

  function gapItem(gap) {
    const item = el("li");
    item.append(el("strong", gap.label), el("span", ` · ${gap.lang} · ${fill(t.gap_count, { n: gap.count })}`, "meta"));
    item.append(el("small", gap.queries.join(" · ")));
    if (canEdit) {
      const form = el("form", undefined, "inline");
      const id = `gap-id-${gap.n}`;
      const label = el("label", t.draft_id);
      label.htmlFor = id;
      const input = el("input");
      input.id = id;
      input.required = true;
      input.pattern = "[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}";
      input.value = `${gap.lang}-${gap.label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`.slice(0, 64);
      const submit = el("button", t.make_draft);
      submit.type = "submit";
      form.append(label, input, submit);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await call("POST", `/api/kb/gaps/${gap.n}/draft`, { article_id: input.value });
          say(t.drafted);
          await load();
        } catch (err) {
          fail(err);
        }
      });
      item.append(form);
    }
    return item;
  }

  function fillList(id, items, make) {
    const list = $(id);
    list.replaceChildren();
    if (!items.length) list.append(el("li", t.nothing, "empty"));
    for (const x of items) list.append(make(x));
  }

  async function load() {
    try {
      const queue = await call("GET", "/api/kb/review");
      fillList("in-review", queue.in_review, (v) => versionItem(v, true));
      fillList("drafts", queue.drafts, (v) => versionItem(v, false));
      fillList("gaps", queue.gaps, gapItem);
      fillList("synonyms", queue.synonyms, (s) => el("li", `${s.lang}: ${s.words.join(" ≈ ")} (${s.count})`));
      const report = await call("GET", "/api/kb/analytics");
      const rows = Object.entries(report.flows).map(([flow, f]) => {
        const row = el("tr");
        const name = el("th", flow);
        name.scope = "row";
        row.append(name);
        for (const n of [f.runs, f.resolved, f.deflected, f.handed_over, f.abandoned]) {
          row.append(el("td", String(n)));
        }
        return row;
      });
      document.querySelector("#analytics tbody").replaceChildren(...rows);
      const flags = await call("GET", "/api/kb/health");
      fillList("health", flags, (f) => el("li", `${f.key} — ${f.code}: ${f.message}`, `flag ${f.code}`));
    } catch (err) {
      fail(err);
    }
  }

  load();
})();
