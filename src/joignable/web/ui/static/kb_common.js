// What the /kb page (kb.js) and the desk's knowledge panel (kb_panel.js) share: DOM helpers,
// the /api/kb call (session cookie, CSRF token on writes, coded errors thrown as messages), and
// search as you type with its result list, each result saying why it matched. Served by
// joignable itself (/static), loaded before either script.
"use strict";

window.joignableKb = (function () {
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

  // csrf: a function giving the token (the desk may renew it)
  async function call(method, path, body, csrf) {
    const headers = { "Content-Type": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = (data && data.error) || {};
      throw new Error(e.message || e.code || String(response.status));
    }
    return data;
  }

  // Search as you type. find(q) returns the API's answer; show(found) draws it; an answer to a
  // query typed over since (or cancelled: something else was opened) is dropped. Queries under
  // two characters clear the list.
  function searcher({ query, list, find, show, fail, delay = 250 }) {
    let timer = null;
    let asked = 0;
    async function now() {
      const q = query().trim();
      if (q.length < 2) {
        list.replaceChildren();
        return;
      }
      const mine = ++asked;
      try {
        const found = await find(q);
        if (mine === asked) show(found);
      } catch (err) {
        fail(err);
      }
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(now, delay);
    }
    function cancel() {
      clearTimeout(timer);
      asked++;
    }
    return { now, later, cancel };
  }

  // One <li> per hit: head(hit) (the title, or a button opening it), meta(hit) beside it, and
  // why(reasons) under it, the reasons joined by sep.
  function showHits(list, hits, { empty, head, meta, why, sep }) {
    list.replaceChildren();
    if (!hits.length) list.append(el("li", empty));
    for (const hit of hits) {
      const item = el("li");
      item.append(head(hit), el("span", meta(hit), "meta"));
      item.append(el("small", why(hit.why.map((w) => w.text).join(sep))));
      list.append(item);
    }
  }

  return { el, fill, call, searcher, showHits };
})();
