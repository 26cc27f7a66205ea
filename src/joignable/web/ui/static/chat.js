// The customer chat page: start a chat, follow its place in line, exchange messages, ask for a
// callback, leave. Live over a WebSocket, and by asking /api/chat while that is down; either way
// it asks for what came after the last message seq it holds, so a page that reconnects (or
// reloads: the chat is kept in sessionStorage) misses and repeats nothing.
// While the customer waits, self-service: search the customers' articles, run a guided flow,
// then "this solved it" (the contact ends as deflected) or "talk to a person" (the agent gets the
// path and the answers: the customer never repeats themselves).
"use strict";

(function () {
  const POLL_MS = 2000; // while the stream is down: ask, then try the stream again
  const KEY = "joignable.chat";
  const REMEMBER = "joignable.remember"; // ticks "remember me" again for a remembered customer
  const t = JSON.parse(document.getElementById("chat-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));

  let chat = null; // {contact, token, name}
  let last = 0; // the last message seq shown
  let polling = false;
  let timer = null;
  let stream = null; // the WebSocket, while open or opening

  function showError(err) {
    $("error").textContent = err ? fill(t.error, { m: err }) : "";
  }

  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (chat) headers["X-Chat-Token"] = chat.token;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // the token is the only credential; only the start carries the "remember me" cookie
      credentials: method === "POST" && path === "/api/chat" ? "same-origin" : "omit",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = (data && data.error) || {};
      throw new Error(e.message || e.code || String(response.status));
    }
    return data;
  }

  function waitText(seconds) {
    if (seconds === null || seconds === undefined) return t.no_agent;
    return seconds < 60 ? t.wait_soon : fill(t.wait_min, { n: Math.round(seconds / 60) });
  }

  function explain(est) {
    // The engine's own sentence in English; the same figures, translated, otherwise.
    if (document.documentElement.lang === "en" && est.text) return est.text;
    const parts = [est.ahead ? fill(t.ahead, { n: est.ahead }) : t.next];
    if (!est.eligible) return parts.concat([t.no_agent]).join(", ");
    parts.push(est.busy ? fill(t.busy, { n: est.busy }) : fill(t.free, { n: est.eligible }));
    parts.push(waitText(est.seconds));
    return parts.join(", ");
  }

  function render(state) {
    let line = "";
    let why = "";
    if (state.status === "waiting" && state.estimate) {
      line = fill(t.position, { n: state.estimate.position });
      why = explain(state.estimate);
    } else if (state.status === "offered") {
      line = t.offered;
    } else if (state.status === "connected") {
      line = fill(t.connected, { agent: state.agent_name || "" });
    } else if (state.status === "ended") {
      line = t["ended_" + state.outcome] || t.ended;
    }
    if (state.callback && state.status !== "ended") why = t.callback_kept + (why ? " " + why : "");
    if ($("status-line").textContent !== line) $("status-line").textContent = line;
    if ($("explanation").textContent !== why) $("explanation").textContent = why;
    const open = state.status !== "ended";
    for (const el of document.querySelectorAll("#chat button, #chat textarea, #chat input")) {
      el.disabled = !open;
    }
    if (state.callback) $("callback-form").hidden = true;
    const waiting = state.status === "waiting" || state.status === "offered";
    $("self-service").hidden = !(waiting && chat && !chat.handedOver);
    if (!open) stop();
  }

  // -- self-service ----------------------------------------------------------------------------
  let run = null; // the guided flow in progress
  let article = null; // the article on screen

  let wantsHuman = false; // asked for a person before starting the chat
  let typing = null;

  function kb(method, path, body) {
    // before a chat: the public self-service; in a chat: the chat's own (its token)
    const base = chat ? `/api/chat/${encodeURIComponent(chat.contact)}/kb` : "/api/kb/public";
    return call(method, `${base}${path}`, body);
  }

  function node(tag, text) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function showList() {
    run = null;
    article = null;
    $("ss-view").hidden = true;
    $("ss-list").hidden = false;
  }

  let searched = 0; // the latest search asked: an older answer arriving late is dropped

  async function ssSearch(q) {
    if (!q.trim()) return;
    const mine = ++searched;
    try {
      const lang = document.documentElement.lang;
      const found = await kb("GET", `/search?${new URLSearchParams({ q, lang })}`);
      if (mine !== searched) return;
      const list = $("ss-results");
      list.replaceChildren();
      if (!found.results.length) list.append(node("li", t.ss_none));
      for (const hit of found.results) {
        const item = node("li");
        const open = node("button", hit.title);
        open.type = "button";
        open.className = "link";
        open.setAttribute("aria-describedby", `ss-why-${hit.key.replace(/\W/g, "-")}`);
        open.addEventListener("click", () => openHit(hit));
        const kind = node("span", hit.kind === "flow" ? t.ss_guided : t.ss_article);
        kind.className = "kind";
        const why = node("small", fill(t.ss_why, { why: hit.why.map((w) => w.text).join(", ") }));
        why.id = `ss-why-${hit.key.replace(/\W/g, "-")}`;
        item.append(open, kind, why);
        list.append(item);
      }
      showList();
      showError("");
    } catch (err) {
      showError(err.message);
    }
  }

  function showContent(title, content, note) {
    $("ss-list").hidden = true;
    $("ss-view").hidden = false;
    $("ss-title").textContent = title;
    $("ss-body").textContent = (content && content.body) || "";
    $("ss-steps").replaceChildren(...((content && content.steps) || []).map((x) => node("li", x)));
    $("ss-note").textContent = note || "";
  }

  async function openHit(hit) {
    clearTimeout(typing);
    searched++; // what is opened stays open
    try {
      if (hit.kind === "flow") {
        showRun(await kb("POST", "/runs", { flow: hit.id }));
      } else {
        const found = await kb("GET", `/articles/${encodeURIComponent(hit.id)}`);
        run = null;
        article = hit.id;
        showContent(found.title, found.content, "");
        $("ss-question").hidden = true;
        $("ss-back").hidden = true;
        $("ss-solved").hidden = false;
      }
      $("ss-view").focus();
    } catch (err) {
      showError(err.message);
    }
  }

  function showRun(state) {
    run = state;
    article = null;
    const form = $("ss-question");
    $("ss-back").hidden = !state.can_go_back;
    $("ss-solved").hidden = true;
    if (state.question) {
      showContent(state.title, null, "");
      form.hidden = false;
      $("ss-question-text").textContent = state.question.text;
      const choices = $("ss-choices");
      choices.replaceChildren();
      for (const c of state.question.choices) {
        const b = node("button", c.label);
        b.type = "button";
        b.addEventListener("click", () => answer(c.value));
        choices.append(b);
      }
      $("ss-input-row").hidden = state.question.choices.length > 0;
      $("ss-input").value = "";
      const first = choices.querySelector("button") || $("ss-input");
      first.focus();
    } else if (state.outcome) {
      form.hidden = true;
      const a = state.outcome.article;
      const note = t["ss_result_" + state.outcome.result] || state.outcome.text || "";
      showContent(a ? a.title : state.title, a || { body: state.outcome.text }, note);
      $("ss-solved").hidden = false;
    } else if (state.handover) {
      form.hidden = true;
      showContent(state.title, { body: state.handover.text }, "");
      human(); // the flow itself says a person is needed
    }
  }

  async function answer(value) {
    try {
      showRun(await kb("POST", `/runs/${run.run}/answer`, { value }));
      showError("");
    } catch (err) {
      showError(err.message);
    }
  }

  async function human() {
    if (!chat) {
      // a person needs a chat: once it starts, the hand-over carries this run's answers
      wantsHuman = true;
      $("ss-note").textContent = t.ss_start_first;
      $("name").focus();
      return;
    }
    try {
      await kb("POST", "/handover", { run: run ? run.run : null });
      chat.handedOver = true;
      sessionStorage.setItem(KEY, JSON.stringify(chat));
      $("self-service").hidden = true;
      $("status-line").textContent = t.ss_handed_over;
      await poll(true);
    } catch (err) {
      showError(err.message);
    }
  }

  $("ss-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ssSearch($("ss-query").value);
  });

  $("ss-question").addEventListener("submit", (event) => {
    event.preventDefault();
    answer($("ss-input").value);
  });

  $("ss-back").addEventListener("click", async () => {
    try {
      showRun(await kb("POST", `/runs/${run.run}/back`));
    } catch (err) {
      showError(err.message);
    }
  });

  $("ss-other").addEventListener("click", showList);

  // Before the chat: what the customer types about their problem finds answers at once.
  $("problem").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const problem = $("problem").value.trim();
      if (chat || problem.length < 3) return;
      $("self-service").hidden = false;
      $("ss-query").value = problem;
      ssSearch(problem);
    }, 400);
  });
  $("ss-human").addEventListener("click", human);

  $("ss-solved").addEventListener("click", async () => {
    try {
      await kb("POST", "/solved", { run: run ? run.run : null, article });
      if (!chat) {
        $("ss-note").textContent = t.ss_solved_before;
        $("ss-solved").hidden = true;
        $("ss-human").hidden = true;
        return;
      }
      await poll(true);
    } catch (err) {
      showError(err.message);
    }
  });

  function addMessages(messages) {
    const list = $("messages");
    for (const m of messages) {
      if (m.seq <= last) continue; // already shown
      last = m.seq;
      const item = document.createElement("li");
      item.className = m.sender;
      item.dataset.seq = String(m.seq);
      if (m.sender === "system") {
        item.textContent = t["sys_" + m.text] || m.text;
      } else {
        const who = document.createElement("span");
        who.className = "author";
        who.textContent = (m.sender === "customer" ? t.you : m.author) + " :";
        const text = document.createElement("span");
        text.className = "text";
        text.textContent = m.text;
        item.append(who, text);
      }
      list.append(item);
      list.scrollTop = list.scrollHeight;
    }
  }

  function connect() {
    if (!chat || stream) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const path = `/api/chat/${encodeURIComponent(chat.contact)}/stream?after=${last}`;
    const ws = new WebSocket(`${scheme}://${location.host}${path}`);
    stream = ws;
    ws.onopen = () => ws.send(JSON.stringify({ token: chat.token })); // never in the URL
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "message") addMessages([frame.message]);
      else if (frame.type === "state") render(frame.state);
      showError("");
    };
    ws.onclose = () => {
      if (stream === ws) stream = null; // the timer polls and reconnects
    };
  }

  async function poll(always) {
    if (!chat || polling) return;
    if (!always && stream && stream.readyState === WebSocket.OPEN) return; // live already
    polling = true;
    try {
      const state = await call("GET", `/api/chat/${encodeURIComponent(chat.contact)}?after=${last}`);
      addMessages(state.messages);
      render(state);
      showError("");
    } catch (err) {
      showError(err.message);
    } finally {
      polling = false;
    }
  }

  function start(saved) {
    chat = saved;
    last = 0;
    $("messages").replaceChildren();
    $("start").hidden = true;
    $("chat").hidden = false;
    poll();
    connect();
    timer = setInterval(() => {
      poll();
      connect();
    }, POLL_MS);
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (stream) {
      const ws = stream;
      stream = null;
      ws.close();
    }
    sessionStorage.removeItem(KEY);
  }

  $("start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await call("POST", "/api/chat", {
        name: $("name").value,
        topic: $("topic").value,
        language: form.dataset.language,
        remember: $("remember").checked,
      });
      if ($("remember").checked) localStorage.setItem(REMEMBER, "1");
      else localStorage.removeItem(REMEMBER);
      const problem = $("problem").value.trim();
      const saved = { contact: answer.contact, token: answer.token, problem };
      sessionStorage.setItem(KEY, JSON.stringify(saved));
      start(saved);
      $("text").focus();
      clearTimeout(typing);
      if (wantsHuman) {
        wantsHuman = false;
        await human(); // asked before the chat: hand over now, the run attached
      } else if (problem && !run && !article) {
        $("ss-query").value = problem;
        ssSearch(problem);
      }
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  });

  $("send-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    try {
      await call("POST", `/api/chat/${encodeURIComponent(chat.contact)}/messages`, { text });
      $("text").value = "";
      await poll();
    } catch (err) {
      showError(err.message);
    }
  });

  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("send-form").requestSubmit();
    }
  });

  $("callback-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("POST", `/api/chat/${encodeURIComponent(chat.contact)}/callback`, {
        number: $("number").value,
      });
      await poll();
    } catch (err) {
      showError(err.message);
    }
  });

  $("leave").addEventListener("click", async () => {
    try {
      await call("POST", `/api/chat/${encodeURIComponent(chat.contact)}/leave`);
      stop();
      await poll(true); // the last word, read after the stream is closed
    } catch (err) {
      showError(err.message);
    }
  });

  $("remember").checked = localStorage.getItem(REMEMBER) === "1";
  const saved = sessionStorage.getItem(KEY);
  if (saved) {
    const resumed = JSON.parse(saved);
    start(resumed);
    if (resumed.problem && !resumed.handedOver) {
      $("ss-query").value = resumed.problem; // a reload finds the same answers again
      ssSearch(resumed.problem);
    }
  }
})();
