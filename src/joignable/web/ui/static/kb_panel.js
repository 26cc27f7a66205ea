// The agent's knowledge panel inside the desk (templates/kb_panel.html): search as you type,
// run a flow step by step (with the previous question), see what a self-service customer already
// answered, and at wrap-up link the article that solved the contact, so its request becomes a
// phrasing search learns from. The desk tells which contact is open: data-contact-id on
// #conversation and the desk:contact / desk:wrapup events on document.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const t = JSON.parse($("kb-panel-strings").textContent);
  const { el, fill, searcher, showHits } = window.joignableKb;

  let contact = null; // the contact open on the desk
  let run = null; // the flow run on screen
  let shown = null; // the article on screen: {key, title}
  const opened = new Map(); // contact -> Map(key -> title): candidates at wrap-up

  function csrf() {
    if (window.joignable && window.joignable.csrf) return window.joignable.csrf();
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function say(text) {
    $("kb-panel-status").textContent = text || "";
  }

  const call = (method, path, body) => window.joignableKb.call(method, path, body, csrf);

  function remember(key, title) {
    if (!contact) return;
    if (!opened.has(contact)) opened.set(contact, new Map());
    opened.get(contact).set(key, title);
  }

  // -- search ----------------------------------------------------------------------------------
  const list = $("kb-panel-results");

  function opener(hit) {
    const open = el("button", hit.title, "link");
    open.type = "button";
    open.addEventListener("click", () => openHit(hit));
    return open;
  }

  const search = searcher({
    query: () => $("kb-panel-q").value,
    list,
    find(q) {
      const params = new URLSearchParams({ q, k: "6" });
      if (contact) params.set("contact_id", contact); // the request is kept with the contact
      return call("GET", `/api/kb/search?${params}`);
    },
    show(found) {
      showHits(list, found.results, {
        empty: t.none,
        head: opener,
        meta: (hit) => ` (${hit.kind === "flow" ? t.flow : t.article})`,
        why: (reasons) => fill(t.why, { why: reasons }),
        sep: ", ",
      });
      showList();
    },
    fail: (err) => say(fill(t.error, { m: err.message })),
  });

  function showList() {
    run = null;
    shown = null;
    $("kb-panel-view").hidden = true;
    $("kb-panel-results").hidden = false;
  }

  function showContent(title, content, note) {
    $("kb-panel-results").hidden = true;
    $("kb-panel-view").hidden = false;
    $("kb-panel-title").textContent = title;
    $("kb-panel-body").textContent = (content && content.body) || "";
    const steps = ((content && content.steps) || []).map((s) => el("li", s));
    $("kb-panel-steps").replaceChildren(...steps);
    $("kb-panel-note").textContent = note || "";
  }

  async function openHit(hit) {
    search.cancel(); // a search still on its way must not replace what is opened
    try {
      if (hit.kind === "flow") {
        const body = { flow: hit.id };
        if (contact) body.contact_id = contact; // the path is saved with the contact
        showRun(await call("POST", "/api/kb/runs", body));
      } else {
        const found = await call("GET", `/api/kb/articles/${encodeURIComponent(hit.id)}?opened=true`);
        run = null;
        shown = { key: found.key, title: found.title };
        remember(found.key, found.title);
        showContent(found.title, found.content, "");
        $("kb-panel-question").hidden = true;
        $("kb-panel-back").hidden = true;
        $("kb-panel-solved").hidden = false;
      }
      $("kb-panel-view").focus();
      say("");
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  }

  function showRun(state) {
    run = state;
    shown = null;
    $("kb-panel-back").hidden = !state.can_go_back;
    $("kb-panel-solved").hidden = true;
    const form = $("kb-panel-question");
    if (state.question) {
      showContent(state.title, null, "");
      form.hidden = false;
      $("kb-panel-qtext").textContent = state.question.text;
      const choices = $("kb-panel-choices");
      choices.replaceChildren();
      for (const c of state.question.choices) {
        const b = el("button", c.label);
        b.type = "button";
        b.addEventListener("click", () => answer(c.value));
        choices.append(b);
      }
      $("kb-panel-input-row").hidden = state.question.choices.length > 0;
      $("kb-panel-input").value = "";
      (choices.querySelector("button") || $("kb-panel-input")).focus();
    } else {
      form.hidden = true;
      if (state.outcome) {
        const a = state.outcome.article;
        const note = t["result_" + state.outcome.result] || "";
        showContent(a ? a.title : state.title, a || { body: state.outcome.text }, note);
        if (a) {
          shown = { key: `article:${a.id}`, title: a.title };
          remember(shown.key, a.title);
          $("kb-panel-solved").hidden = false;
        }
      } else if (state.handover) {
        const note = fill(t.handover, { queue: state.handover.queue });
        showContent(state.title, { body: state.handover.text }, note);
      }
    }
  }

  async function answer(value) {
    try {
      showRun(await call("POST", `/api/kb/runs/${run.run}/answer`, { value }));
      say("");
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  }

  async function solvedBy(key) {
    if (!contact) {
      say(t.no_contact);
      return;
    }
    try {
      await call("POST", `/api/kb/contacts/${encodeURIComponent(contact)}/solved-by`, {
        article: key,
      });
      say(t.linked);
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  }

  // -- the contact: the hand-over packet, and wrap-up --------------------------------------------

  async function loadPacket() {
    const box = $("kb-packet");
    box.hidden = true;
    if (!contact) return;
    try {
      const seen = await call("GET", `/api/kb/contacts/${encodeURIComponent(contact)}`);
      const p = seen.handover;
      if (!p) return;
      $("kb-packet-query").textContent = p.query ? fill(t.packet_query, { q: p.query }) : "";
      $("kb-packet-answers").replaceChildren(
        ...p.answered.map((a) => el("li", `${a.question} — ${a.answer}`)),
      );
      $("kb-packet-stopped").textContent = p.stopped_at
        ? fill(t.packet_stopped, { node: p.stopped_at })
        : "";
      box.hidden = false;
      if (p.query && !$("kb-panel-q").value) {
        $("kb-panel-q").value = p.query; // pick up where the customer left off
        search.now();
      }
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  }

  function setContact(id) {
    if (id === contact) return;
    contact = id || null;
    $("kb-panel-wrapup").hidden = true;
    loadPacket();
  }

  function wrapup(id) {
    setContact(id);
    const list = $("kb-panel-candidates");
    list.replaceChildren();
    const seen = opened.get(id) || new Map();
    if (!seen.size) list.append(el("li", t.wrapup_none));
    for (const [key, title] of seen) {
      const item = el("li");
      const b = el("button", title);
      b.type = "button";
      b.addEventListener("click", () => solvedBy(key));
      item.append(b);
      list.append(item);
    }
    $("kb-panel-wrapup").hidden = false;
  }

  $("kb-panel-search").addEventListener("submit", (event) => {
    event.preventDefault();
    search.now();
  });
  $("kb-panel-q").addEventListener("input", search.later);
  $("kb-panel-question").addEventListener("submit", (event) => {
    event.preventDefault();
    answer($("kb-panel-input").value);
  });
  $("kb-panel-back").addEventListener("click", async () => {
    try {
      showRun(await call("POST", `/api/kb/runs/${run.run}/back`));
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  });
  $("kb-panel-close").addEventListener("click", showList);
  $("kb-panel-propose-form").addEventListener("submit", async (event) => {
    // a new article from this contact, in one step: a draft for the experts, the contact's
    // request as its first phrasing
    event.preventDefault();
    if (!contact) {
      say(t.no_contact);
      return;
    }
    const lines = $("kb-panel-propose-body").value.split("\n").map((x) => x.trim());
    const steps = lines.filter((x) => x);
    try {
      const draft = await call(
        "POST",
        `/api/kb/contacts/${encodeURIComponent(contact)}/proposals`,
        {
          title: $("kb-panel-propose-title").value,
          lang: event.currentTarget.dataset.lang,
          body: steps.length > 1 ? "" : steps.join(""),
          steps: steps.length > 1 ? steps : [],
        },
      );
      say(fill(t.proposed, { key: draft.key }));
      $("kb-panel-propose-title").value = "";
      $("kb-panel-propose-body").value = "";
    } catch (err) {
      say(fill(t.error, { m: err.message }));
    }
  });
  $("kb-panel-solved").addEventListener("click", () => shown && solvedBy(shown.key));

  document.addEventListener("desk:contact", (event) => setContact(event.detail.contact_id));
  document.addEventListener("desk:wrapup", (event) => wrapup(event.detail.contact_id));
  const conversation = $("conversation");
  if (conversation && conversation.dataset.contactId) setContact(conversation.dataset.contactId);
})();
