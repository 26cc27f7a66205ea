// The agent desktop. What the agent holds (presence, offers, conversations, wrap-ups) is read
// from GET /api/agents/{id}/work whenever the agent's event stream (/api/stream) says something
// happened; each chat's messages come over its own stream. Both streams are resumed after a
// drop with ?after= the last seq seen, and anything at or below it is ignored, so nothing is
// missed or shown twice. Deadlines are counted down on the center's clock (``now`` of /work).
//
// For the knowledge panel: #conversation carries data-contact-id, and document receives
// "desk:contact" ({contact_id, queue, topic}) when the focused conversation changes and
// "desk:wrapup" ({contact_id}) when a wrap-up is sent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("desk-data").textContent);
  const t = data.t;
  const AGENT = data.agent;
  const base = "/api/agents/" + encodeURIComponent(AGENT);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const wsBase = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host;

  let lastSeq = data.seq; // the last event of the agent's stream already reflected
  let skew = 0; // the center's clock minus the browser's, in seconds
  let presence = null; // the presence last shown
  let offers = []; // from the last snapshot
  const queueNames = {};
  const convs = new Map(); // contact id -> conversation (see ensure())
  let focused = null; // the contact id shown in #conversation
  let announcedOffers = new Set();

  function csrf() {
    return window.joignable ? window.joignable.csrf() : "";
  }

  function toLogin() {
    window.location.assign("/login?next=" + encodeURIComponent("/desk"));
  }

  function showError(text) {
    $("error").textContent = text ? fill(t.error, { m: text }) : "";
  }

  async function call(method, path, body) {
    const headers = { [data.csrf_header]: csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const out = await response.json().catch(() => ({}));
    if (response.status === 401) {
      toLogin();
      throw new Error("unauthenticated");
    }
    const e = (out && out.error) || {};
    if (response.status === 403 && e.code === "csrf_failed") {
      // logged in again elsewhere in this browser: a new session, so the page's token is stale
      window.location.reload();
      throw new Error("unauthenticated");
    }
    if (!response.ok) throw new Error(e.message || e.code || String(response.status));
    return out;
  }

  // Run an action from a button: errors are shown, the snapshot is refreshed either way.
  async function act(fn) {
    showError("");
    $("notice").textContent = "";
    try {
      return await fn();
    } catch (err) {
      if (err.message !== "unauthenticated") showError(err.message);
      return undefined;
    } finally {
      refresh();
    }
  }

  const serverNow = () => Date.now() / 1000 + skew;
  const queueName = (q) => queueNames[q] || q;

  // -- the agent's event stream ------------------------------------------------------------

  let stream = null;
  let streamRetry = 0;

  function openStream() {
    stream = new WebSocket(wsBase + "/api/stream?after=" + lastSeq);
    stream.onopen = () => {
      streamRetry = 0;
      $("stream-status").hidden = true;
      refresh(); // what happened while closed is in the backlog too; the snapshot settles it
    };
    stream.onmessage = (message) => {
      const m = JSON.parse(message.data);
      if (typeof m.seq !== "number" || m.seq <= lastSeq) return; // seen already
      lastSeq = m.seq;
      onEvent(m);
      refreshSoon();
    };
    stream.onclose = (close) => {
      stream = null;
      if (close.code === 4401) return toLogin();
      if (close.code === 4403) return showError(close.reason || "forbidden"); // not an agent now
      $("stream-status").hidden = false;
      streamRetry = Math.min(streamRetry + 1, 6);
      setTimeout(openStream, 250 * 2 ** streamRetry);
    };
  }

  function onEvent(m) {
    const e = m.event || {};
    if (m.type === "callback_attempt_failed") {
      $("notice").textContent = e.retry_at ? t.callback_retry : t.callback_given_up;
    } else if (m.type === "wrapup_ended" && e.reason === "timeout") {
      $("notice").textContent = fill(t.wrapup_timeout, { contact: e.contact });
    }
  }

  // -- the snapshot ------------------------------------------------------------------------

  let refreshing = false;
  let again = false;
  let soon = null;

  function refreshSoon() {
    if (soon === null) soon = setTimeout(() => ((soon = null), refresh()), 30);
  }

  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        const work = await call("GET", base + "/work");
        apply(work);
      } while (again);
    } catch (err) {
      if (err.message !== "unauthenticated") showError(err.message);
    } finally {
      refreshing = false;
    }
  }

  function apply(work) {
    skew = work.now - Date.now() / 1000;
    showPresence(work);
    offers = work.offers;
    renderOffers();
    const held = new Set();
    for (const c of work.contacts) {
      held.add(c.contact);
      const conv = ensure(c);
      conv.phase = "connected";
      if (conv.kind === "chat") follow(conv);
    }
    for (const w of work.wrapups) {
      held.add(w.contact);
      const conv = ensure(w);
      conv.phase = "wrapup";
      conv.wrapDeadline = w.deadline;
      unfollow(conv);
    }
    for (const [cid, conv] of convs) {
      if (!held.has(cid)) {
        unfollow(conv);
        convs.delete(cid);
      }
    }
    let target = focused;
    if (pendingFocus !== null && convs.has(pendingFocus)) {
      target = pendingFocus;
      pendingFocus = null;
    } else if (target === null || !convs.has(target)) {
      const first = convs.keys().next();
      target = first.done ? null : first.value;
    }
    focus(target);
  }

  function showPresence(work) {
    const state = t["state_" + work.state] || work.state;
    $("presence-now").textContent = fill(t.presence_now, { state });
    if (work.presence !== presence) {
      presence = work.presence;
      const radio = $("presence-" + presence);
      if (radio) radio.checked = true;
      showReason();
    }
    const chats = (work.capacity || {}).chat;
    $("capacity").textContent = chats ? fill(t.capacity, { n: chats }) : "";
  }

  function showReason() {
    $("reason-row").hidden = !$("presence-away").checked;
  }

  // -- offers ------------------------------------------------------------------------------

  function describe(offer) {
    const queue = queueName(offer.queue);
    if (offer.channel === "callback") return fill(t.offer_callback, { number: offer.number, queue });
    if (offer.channel === "chat") {
      const name = (offer.data || {}).name || offer.customer || offer.contact;
      return fill(t.offer_chat, { name, queue });
    }
    return fill(t.offer_other, { channel: offer.channel, queue });
  }

  function renderOffers() {
    const list = $("offers");
    const wanted = new Map(offers.map((o) => [o.contact, o]));
    for (const li of [...list.children]) {
      if (!wanted.has(li.dataset.contact)) li.remove();
    }
    const present = new Set([...list.children].map((li) => li.dataset.contact));
    for (const offer of offers) {
      if (present.has(offer.contact)) continue;
      const li = document.createElement("li");
      li.dataset.contact = offer.contact;
      li.dataset.deadline = String(offer.deadline);
      li.dataset.total = String(Math.max(1, offer.deadline - serverNow()));
      const id = "offer-" + offer.contact;
      const what = document.createElement("p");
      what.id = id;
      what.className = "what";
      what.textContent = describe(offer);
      const countdown = document.createElement("p");
      countdown.className = "countdown";
      const meter = document.createElement("meter");
      meter.min = 0;
      meter.max = 1;
      meter.setAttribute("aria-hidden", "true");
      const preview = document.createElement("div");
      preview.className = "preview";
      preview.id = "preview-" + offer.contact;
      preview.hidden = offer.channel !== "chat";
      const described = offer.channel === "chat" ? id + " " + preview.id : id;
      const accept = document.createElement("button");
      accept.type = "button";
      accept.textContent = t.accept;
      accept.setAttribute("aria-describedby", described);
      accept.addEventListener("click", () => answer(offer.contact, true));
      const reject = document.createElement("button");
      reject.type = "button";
      reject.className = "secondary";
      reject.textContent = t.reject;
      reject.setAttribute("aria-describedby", described);
      reject.addEventListener("click", () => answer(offer.contact, false));
      li.append(what, preview, countdown, meter, accept, reject);
      list.append(li);
      if (offer.channel === "chat") loadPreview(offer.contact);
      if (!announcedOffers.has(offer.contact)) $("announce").textContent = describe(offer);
    }
    announcedOffers = new Set(offers.map((o) => o.contact));
    $("no-offers").hidden = offers.length > 0;
    tick();
  }

  // What the customer of an offered chat wrote so far (readable before accepting): the first
  // few messages, read again while the offer rings, so the agent knows what they accept.
  const PREVIEW_MESSAGES = 3;
  const PREVIEW_CHARS = 280;

  async function loadPreview(contact) {
    let found;
    try {
      const path = base + "/chats/" + encodeURIComponent(contact) + "/messages";
      const response = await fetch(path, { credentials: "same-origin" });
      if (!response.ok) return; // no longer offered to us: the snapshot removes it
      found = await response.json();
    } catch (err) {
      return;
    }
    const box = $("preview-" + contact);
    if (!box) return;
    const said = found.messages.filter((m) => m.sender === "customer");
    const key = said.map((m) => m.seq).join(",");
    if (box.dataset.seen === key && box.childElementCount) return; // unchanged: leave it be
    box.dataset.seen = key;
    const heading = document.createElement("p");
    heading.className = "preview-heading";
    heading.textContent = t.preview;
    if (!said.length) {
      const none = document.createElement("p");
      none.className = "preview-none";
      none.textContent = t.preview_none;
      box.replaceChildren(heading, none);
      return;
    }
    const list = document.createElement("ol");
    for (const m of said.slice(0, PREVIEW_MESSAGES)) {
      const li = document.createElement("li");
      li.textContent =
        m.text.length > PREVIEW_CHARS ? m.text.slice(0, PREVIEW_CHARS - 1) + "…" : m.text;
      list.append(li);
    }
    box.replaceChildren(heading, list);
    if (said.length > PREVIEW_MESSAGES) {
      const more = document.createElement("p");
      more.className = "preview-more";
      more.textContent = fill(t.preview_more, { n: said.length - PREVIEW_MESSAGES });
      box.append(more);
    }
  }

  function refreshPreviews() {
    for (const offer of offers) if (offer.channel === "chat") loadPreview(offer.contact);
  }

  async function answer(contact, yes) {
    const done = await act(() =>
      call("POST", base + "/offers/" + encodeURIComponent(contact) + (yes ? "/accept" : "/reject")),
    );
    if (yes && done) {
      pendingFocus = contact; // shown as soon as the snapshot has it
      wantFocusText = true;
      refresh();
    }
  }

  // -- conversations -----------------------------------------------------------------------

  let wantFocusText = false;
  let pendingFocus = null;

  function ensure(item) {
    let conv = convs.get(item.contact);
    if (!conv) {
      const channel = item.channel || "chat";
      conv = {
        id: item.contact,
        kind: channel === "callback" ? "callback" : channel === "chat" ? "chat" : "other",
        channel,
        queue: item.queue || "",
        customer: item.customer || "",
        name: (item.data || {}).name || item.customer || "",
        number: item.number || "",
        phase: "connected",
        wrapDeadline: null,
        messages: new Map(),
        last: 0,
        socket: null,
        retry: 0,
        left: false,
        unread: 0,
        history: null,
      };
      convs.set(item.contact, conv);
    }
    return conv;
  }

  function follow(conv) {
    if (conv.socket) return;
    const url =
      wsBase + base + "/chats/" + encodeURIComponent(conv.id) + "/stream?after=" + conv.last;
    const socket = new WebSocket(url);
    conv.socket = socket;
    socket.onmessage = (message) => {
      const m = JSON.parse(message.data);
      if (m.type === "message") {
        conv.last = Math.max(conv.last, m.message.seq); // the stream's own position
        addMessage(conv, m.message);
      }
      else if (m.type === "state") {
        conv.left = !!m.state.customer_left;
        if (conv.id === focused) renderNote(conv);
      }
    };
    socket.onopen = () => (conv.retry = 0);
    socket.onclose = (close) => {
      if (conv.socket !== socket) return; // closed on purpose
      conv.socket = null;
      if (close.code === 4403 || close.code === 4401) return refreshSoon(); // no longer ours
      if (convs.get(conv.id) === conv && conv.phase === "connected") {
        conv.retry = Math.min(conv.retry + 1, 6);
        const stillOurs = () => convs.get(conv.id) === conv && conv.phase === "connected";
        setTimeout(() => stillOurs() && follow(conv), 250 * 2 ** conv.retry);
      }
    };
  }

  function unfollow(conv) {
    const socket = conv.socket;
    conv.socket = null;
    if (socket) socket.close();
  }

  // From the stream, or the answer to one's own message (which may come before the stream has
  // delivered an earlier one: only the stream moves conv.last, the map drops duplicates).
  function addMessage(conv, m) {
    if (conv.messages.has(m.seq)) return; // seen already
    conv.messages.set(m.seq, m);
    if (m.sender === "system" && m.text === "customer_left") conv.left = true;
    if (conv.id === focused) {
      appendMessage(m);
      renderNote(conv);
    } else if (m.sender === "customer") {
      conv.unread += 1;
      renderTabs();
    }
  }

  function appendMessage(m) {
    const li = document.createElement("li");
    li.className = m.sender;
    li.dataset.seq = String(m.seq);
    if (m.sender === "system") {
      li.textContent = t["sys_" + m.text] || m.text;
    } else {
      const author = document.createElement("span");
      author.className = "author";
      author.textContent = (m.sender === "agent" ? t.you : m.author) + ":";
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      li.append(author, text);
    }
    // keep the list in seq order even if a resend arrives late
    const after = [...$("messages").children].find((x) => Number(x.dataset.seq) > m.seq);
    $("messages").insertBefore(li, after || null);
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  function tabLabel(conv) {
    if (conv.phase === "wrapup" && conv.kind !== "chat")
      return fill(t.tab_wrapup, { contact: conv.number || conv.id });
    if (conv.kind === "callback") return fill(t.tab_callback, { number: conv.number });
    return fill(t.tab_chat, { name: conv.name || conv.id, queue: queueName(conv.queue) });
  }

  function renderTabs() {
    const tabs = $("tabs");
    const active = document.activeElement;
    const hadFocus = active && active.parentElement === tabs ? active.dataset.contact : null;
    tabs.replaceChildren();
    for (const conv of convs.values()) {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.id = "tab-" + conv.id;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", "conversation");
      const selected = conv.id === focused;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      tab.dataset.contact = conv.id;
      tab.textContent = tabLabel(conv) + (conv.phase === "wrapup" ? " · " + t.wrapup : "");
      if (conv.unread && !selected) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = fill(t.unread, { n: conv.unread });
        tab.append(badge);
      }
      tab.addEventListener("click", () => focus(conv.id));
      tabs.append(tab);
      if (conv.id === hadFocus) tab.focus(); // a refresh does not take the keyboard away
    }
    $("no-conversation").hidden = convs.size > 0;
  }

  // arrow keys move between tabs, as in any tab list
  $("tabs").addEventListener("keydown", (event) => {
    const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (!(event.key in keys) && event.key !== "Home" && event.key !== "End") return;
    const ids = [...convs.keys()];
    if (!ids.length) return;
    event.preventDefault();
    let i = Math.max(0, ids.indexOf(focused));
    if (event.key === "Home") i = 0;
    else if (event.key === "End") i = ids.length - 1;
    else i = (i + keys[event.key] + ids.length) % ids.length;
    focus(ids[i]);
    $("tab-" + ids[i]).focus();
  });

  function focus(cid) {
    const changed = cid !== focused || $("conversation").dataset.contactId !== (cid || "");
    focused = cid;
    const conv = cid === null ? null : convs.get(cid);
    if (conv) conv.unread = 0;
    if (changed) {
      // what was being typed stays with its conversation
      const previous = convs.get($("conversation").dataset.contactId);
      if (previous) {
        previous.draft = {
          text: $("text").value,
          disposition: $("disposition").value,
          notes: $("notes").value,
        };
      }
      $("conversation").dataset.contactId = cid || "";
      $("messages").replaceChildren();
      if (conv) for (const seq of [...conv.messages.keys()].sort((a, b) => a - b))
        appendMessage(conv.messages.get(seq));
      $("wrapup-form").reset();
      const draft = (conv && conv.draft) || {};
      $("text").value = draft.text || "";
      if (draft.disposition) $("disposition").value = draft.disposition;
      $("notes").value = draft.notes || "";
      document.dispatchEvent(
        new CustomEvent("desk:contact", {
          detail: {
            contact_id: cid,
            queue: conv ? conv.queue : null,
            topic: conv ? queueName(conv.queue) : null,
          },
        }),
      );
    }
    renderConversation();
    renderTabs();
    if (conv) loadHistory(conv);
  }

  function renderNote(conv) {
    let note = "";
    if (conv.kind === "chat" && conv.left) note = t.customer_left;
    $("conversation-note").textContent = note;
  }

  function renderConversation() {
    const conv = focused === null ? null : convs.get(focused);
    $("conversation").hidden = !conv;
    if (!conv) return;
    $("conversation").setAttribute("aria-labelledby", "tab-" + conv.id);
    const connected = conv.phase === "connected";
    $("conversation-title").textContent = tabLabel(conv);
    $("chat-part").hidden = conv.kind !== "chat";
    $("send-form").hidden = !connected;
    for (const el of $("send-form").elements) el.disabled = !connected || conv.left;
    $("callback-part").hidden = !(conv.kind === "callback" && connected);
    $("callback-number").textContent = fill(t.callback_call, { number: conv.number });
    $("end-contact").hidden = !connected || conv.kind === "callback";
    $("transfer-form").hidden = !connected;
    $("transfer-agent-form").hidden = !connected;
    if (connected && $("transfer-agent").dataset.for !== conv.id) {
      $("transfer-agent").dataset.for = conv.id; // those who take this kind of contact
      const able = data.agents.filter((a) => a.channels.includes(conv.channel));
      $("transfer-agent").replaceChildren(
        ...able.map((a) => {
          const option = document.createElement("option");
          option.value = a.id;
          return option;
        }),
      );
      labelColleagues();
      refreshColleagues();
      $("transfer-agent-none").hidden = able.length > 0;
      for (const el of $("transfer-agent-form").elements) el.disabled = !able.length;
    }
    if (connected && $("transfer-queue").dataset.for !== conv.id) {
      $("transfer-queue").dataset.for = conv.id; // proposes another queue than its own
      const other = data.queues.find((q) => q.id !== conv.queue);
      if (other) $("transfer-queue").value = other.id;
    }
    $("wrapup-form").hidden = connected;
    renderNote(conv);
    tick();
    if (wantFocusText && connected) {
      wantFocusText = false;
      if (conv.kind === "chat" && !conv.left) $("text").focus();
      else if (conv.kind === "callback") $("callback-done").focus();
    }
  }

  async function loadHistory(conv) {
    const list = $("history-list");
    const show = (items) => {
      if (conv.id !== focused) return;
      list.replaceChildren(
        ...items.map((text) => {
          const li = document.createElement("li");
          li.textContent = text;
          return li;
        }),
      );
    };
    if (!conv.customer) return show([t.history_unknown]);
    if (conv.history === null) {
      try {
        const found = await call(
          "GET",
          "/api/customers/" + encodeURIComponent(conv.customer) + "/contacts?limit=20",
        );
        conv.history = found.filter((c) => c.contact !== conv.id);
      } catch (err) {
        showError(err.message);
        return;
      }
    }
    if (!conv.history.length) return show([t.history_none]);
    const when = (at) => new Date(at * 1000).toLocaleString(document.documentElement.lang);
    show(
      conv.history.map(
        (c) =>
          fill(t.history_item, {
            when: when(c.arrived_at),
            channel: c.channel,
            queue: queueName(c.queue),
            outcome: c.outcome || "…",
          }) +
          (c.disposition ? " · " + c.disposition : "") +
          (c.notes ? " · " + c.notes : ""),
      ),
    );
  }

  // -- countdowns --------------------------------------------------------------------------

  function tick() {
    const now = serverNow();
    for (const li of $("offers").children) {
      const left = Math.max(0, Math.ceil(Number(li.dataset.deadline) - now));
      const text = fill(t.countdown, { n: left });
      const countdown = li.querySelector(".countdown");
      if (countdown.textContent !== text) countdown.textContent = text;
      li.querySelector("meter").value = Math.max(
        0,
        (Number(li.dataset.deadline) - now) / Number(li.dataset.total),
      );
    }
    const conv = focused === null ? null : convs.get(focused);
    if (conv && conv.phase === "wrapup" && conv.wrapDeadline) {
      const left = Math.max(0, Math.ceil(conv.wrapDeadline - now));
      $("wrapup-left").textContent = fill(t.wrapup_left, { n: left });
    }
  }

  // -- the agent's controls ----------------------------------------------------------------

  $("presence-form").addEventListener("change", showReason);
  $("presence-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = $("presence-form").elements.presence.value;
    const reason = chosen === "away" ? $("reason").value : "";
    act(() => call("PUT", base + "/presence", { presence: chosen, reason }));
  });

  function sendMessage() {
    const conv = convs.get(focused);
    const text = $("text").value.trim();
    if (!conv || !text) return;
    act(async () => {
      const m = await call("POST", base + "/chats/" + encodeURIComponent(conv.id) + "/messages", {
        text,
      });
      $("text").value = "";
      addMessage(conv, m);
    });
  }

  $("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });

  function complete() {
    const cid = focused;
    if (cid === null) return;
    act(async () => {
      await call("POST", base + "/contacts/" + encodeURIComponent(cid) + "/complete");
      wantWrapupFocus = cid;
    });
  }

  let wantWrapupFocus = null;

  $("end-contact").addEventListener("click", complete);
  $("callback-done").addEventListener("click", complete);
  $("callback-missed").addEventListener("click", () => {
    const cid = focused;
    if (cid === null) return;
    act(async () => {
      const r = await call("POST", base + "/contacts/" + encodeURIComponent(cid) + "/not-reached");
      $("notice").textContent = r.retry_planned ? t.callback_retry : t.callback_given_up;
    });
  });

  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const cid = focused;
    const queue = $("transfer-queue").value;
    if (cid === null || !queue) return;
    const who = tabLabel(convs.get(cid));
    act(async () => {
      await call("POST", base + "/contacts/" + encodeURIComponent(cid) + "/transfer", { queue });
      $("notice").textContent = fill(t.transferred, { contact: who, queue: queueName(queue) });
    });
  });

  // Each colleague in the transfer list with their state (available, away, in conversation...),
  // as the page was rendered, then as GET /api/agents says when the list is built or focused.
  function labelColleagues() {
    for (const option of $("transfer-agent").options) {
      const a = data.agents.find((x) => x.id === option.value);
      const state = a && (t["state_" + a.state] || a.state);
      if (a) option.textContent = fill(t.agent_option, { name: a.name, state });
    }
  }

  async function refreshColleagues() {
    try {
      const listed = await call("GET", "/api/agents");
      const states = new Map(listed.map((x) => [x.config.id, x.state]));
      for (const a of data.agents) if (states.has(a.id)) a.state = states.get(a.id);
      labelColleagues();
    } catch (e) {
      // the states last shown stay: the transfer itself still says why it is refused
    }
  }

  $("transfer-agent").addEventListener("focus", refreshColleagues);

  $("transfer-agent-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const cid = focused;
    const to = $("transfer-agent").value;
    if (cid === null || !to) return;
    const who = tabLabel(convs.get(cid));
    const name = (data.agents.find((a) => a.id === to) || {}).name || to;
    act(async () => {
      await call("POST", base + "/contacts/" + encodeURIComponent(cid) + "/transfer", {
        to_agent: to,
      });
      $("notice").textContent = fill(t.transferred_agent, { contact: who, agent: name });
    });
  });

  $("wrapup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const cid = focused;
    if (cid === null) return;
    const disposition = $("disposition").value;
    const notes = $("notes").value;
    act(async () => {
      await call("POST", base + "/wrapups/" + encodeURIComponent(cid), { disposition, notes });
      document.dispatchEvent(new CustomEvent("desk:wrapup", { detail: { contact_id: cid } }));
      $("wrapup-form").reset();
    });
  });

  // keep the focus somewhere useful when the wrap-up form appears after "end"
  const observer = new MutationObserver(() => {
    if (wantWrapupFocus !== null && focused === wantWrapupFocus && !$("wrapup-form").hidden) {
      wantWrapupFocus = null;
      $("disposition").focus();
    }
  });
  observer.observe($("wrapup-form"), { attributes: true, attributeFilter: ["hidden"] });

  // -- start -------------------------------------------------------------------------------

  function start() {
    for (const q of data.queues) queueNames[q.id] = q.name;
    showReason();
    openStream();
    setInterval(tick, 250);
    setInterval(refreshPreviews, 2000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
