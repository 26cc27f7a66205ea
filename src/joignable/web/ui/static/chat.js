// The customer chat page: start a chat, follow its place in line, exchange messages, ask for a
// callback, leave. Live over a WebSocket, and by asking /api/chat while that is down; either way
// it asks for what came after the last message seq it holds, so a page that reconnects (or
// reloads: the chat is kept in sessionStorage) misses and repeats nothing.
"use strict";

(function () {
  const POLL_MS = 2000; // while the stream is down: ask, then try the stream again
  const KEY = "joignable.chat";
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
      credentials: "omit", // the token is the only credential; no cookie goes with it
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
    if (!open) stop();
  }

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
      });
      const saved = { contact: answer.contact, token: answer.token };
      sessionStorage.setItem(KEY, JSON.stringify(saved));
      start(saved);
      $("text").focus();
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

  const saved = sessionStorage.getItem(KEY);
  if (saved) start(JSON.parse(saved));
})();
