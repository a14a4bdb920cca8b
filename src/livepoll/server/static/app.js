/* livepoll voting page: the current question, answered over a WebSocket.
 *
 * Plain ES2017 and the DOM, no build step, nothing fetched from elsewhere, so it
 * runs on whatever phone the audience carries and under the server's strict CSP.
 *
 * - Deck text (title, prompt, options) only ever goes through textContent; no
 *   string is ever parsed as HTML, so an option like <img onerror=...> stays text.
 * - "Saved" appears only after the server's ack, which means the vote is durable.
 *   Until then the vote waits in localStorage and is resent with the same seq
 *   after any reconnect or reload; the server treats a repeat as the same answer.
 */
(function () {
  "use strict";

  var PREFIX = "livepoll.";
  var TOKEN = /^[A-Za-z0-9_-]{22,64}$/;
  var BACKOFF_FIRST = 500;
  var BACKOFF_MAX = 10000;
  var ACK_PATIENCE = 8000; // no ack by then: check that the socket is still alive
  var PROBE_TIMEOUT = 5000; // a live server answers a hello within this
  var CONNECT_TIMEOUT = 10000; // Wi-Fi that swallows packets would leave us waiting minutes
  var CLOSED = { question_closed: 1, question_not_open: 1, no_such_question: 1 };
  var PLAIN = {
    question_closed: "Voting on this question has closed.",
    question_not_open: "Voting on this question has not opened yet.",
    no_such_question: "This question is no longer part of the poll.",
    no_such_option: "That option is not available. Please choose again.",
    too_many_choices: "Too many options chosen. Please choose fewer.",
    bad_answer: "That answer could not be saved. Please choose again.",
    frame_too_large: "That answer was too large to send."
  };

  function $(id) { return document.getElementById(id); }
  var el = {
    deck: $("deck"), conn: $("conn"), waiting: $("waiting"), form: $("form"),
    progress: $("progress"), fieldset: $("fieldset"), prompt: $("prompt"), hint: $("hint"),
    options: $("options"), status: $("status"), submit: $("submit")
  };

  /* Storage: localStorage when the browser allows it, else this page's memory
     (private modes may refuse to store anything). */
  var memory = {};
  function load(key) {
    if (Object.prototype.hasOwnProperty.call(memory, key)) return memory[key];
    try {
      var raw = window.localStorage.getItem(PREFIX + key);
      return raw === null ? null : JSON.parse(raw);
    } catch (e) {
      return null;
    }
  }
  function save(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(PREFIX + key);
      else window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
      delete memory[key];
    } catch (e) {
      memory[key] = value;
    }
  }

  function voterToken() {
    var token = load("voter");
    if (typeof token === "string" && TOKEN.test(token)) return token;
    var bytes = new Uint8Array(18); // 144 random bits -> 24 base64url characters
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    token = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    save("voter", token);
    return token;
  }

  function nextSeq() {
    var last = load("seq");
    var seq = (typeof last === "number" && last >= 0 && last < 9e15 ? Math.floor(last) : 0) + 1;
    save("seq", seq);
    return seq;
  }

  /* Own answers, per deck title and question id, so going back shows them. */
  function savedAnswer(key) {
    var all = load("answers");
    var answer = all && typeof all === "object" ? all[key] : null;
    return Array.isArray(answer) ? answer : null;
  }
  function remember(key, answer) {
    var all = load("answers");
    if (!all || typeof all !== "object") all = {};
    if (answer) all[key] = answer;
    else delete all[key];
    save("answers", all);
  }

  var state = null; // the last state frame
  var shown = ""; // identity of the question the form was built for
  var notice = null; // {text, kind}: shown until the person's next action
  var diskTrouble = false; // the server said it cannot save right now (and keeps trying)
  var lastAck = {}; // key -> highest acked seq, so a late older ack changes nothing
  var pending = load("pending"); // {k, q, t, a, seq}: sent or to send, not yet acked
  if (!pending || typeof pending.seq !== "number" || typeof pending.q !== "string" ||
      typeof pending.k !== "string" || !Array.isArray(pending.a)) pending = null;

  // Answered by picking options; other question types need controls this page lacks.
  var TYPES = { single: 1, multi: 1, quiz: 1 };
  function question() {
    var q = state && state.question;
    if (!q || typeof q.id !== "string" || !Array.isArray(q.options) || !TYPES[q.type]) return null;
    return q;
  }
  function keyOf(id) { return (state && state.title ? String(state.title) : "") + "\n" + id; }
  function inputs() { return el.options.getElementsByTagName("input"); }
  function selection() {
    var chosen = [];
    var all = inputs();
    for (var i = 0; i < all.length; i++) if (all[i].checked) chosen.push(i);
    return chosen;
  }
  function same(a, b) {
    return !!a && !!b && a.length === b.length && a.every(function (x, i) { return x === b[i]; });
  }
  /* What the form shows when the person is not editing: in flight, else saved. */
  function answerOf(key) {
    return pending && pending.k === key ? pending.a : savedAnswer(key) || [];
  }
  function dirty() {
    var q = question();
    return !!q && state.status === "open" && !same(selection(), answerOf(keyOf(q.id)));
  }
  function check(answer) {
    var all = inputs();
    for (var i = 0; i < all.length; i++) all[i].checked = answer.indexOf(i) >= 0;
  }

  /* ---- rendering ---- */

  function build(q) {
    el.prompt.textContent = String(q.prompt);
    while (el.options.firstChild) el.options.removeChild(el.options.firstChild);
    for (var i = 0; i < q.options.length; i++) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      var text = document.createElement("span");
      input.type = q.type === "multi" ? "checkbox" : "radio";
      input.name = "answer";
      input.value = String(i);
      text.textContent = String(q.options[i]);
      label.appendChild(input);
      label.appendChild(text);
      el.options.appendChild(label);
    }
  }

  /* Marks chosen options and, for multi, disables the rest once the limit is reached. */
  function applyLimit(q) {
    var all = inputs();
    var multi = q.type === "multi";
    var max = multi ? Number(q.max_choices) || all.length : 1;
    var full = multi && state.status === "open" && selection().length >= max;
    for (var i = 0; i < all.length; i++) {
      var off = full && !all[i].checked;
      all[i].disabled = off;
      all[i].parentNode.className = "opt" + (all[i].checked ? " on" : "") + (off ? " off" : "");
    }
    if (!multi) el.hint.textContent = "Choose one answer.";
    else if (max >= all.length) el.hint.textContent = "Choose all that apply.";
    else el.hint.textContent = "Choose up to " + max + "." +
      (full ? " To pick another, untick one first." : "");
  }

  function render() {
    var q = question();
    var text = "";
    var kind = "";
    var saved = null;
    var sending = false;
    if (q) {
      var key = keyOf(q.id);
      saved = savedAnswer(key);
      sending = !!pending && pending.k === key;
      applyLimit(q);
    }
    if (notice) {
      text = notice.text;
      kind = notice.kind;
    } else if (sending) {
      text = !live ? "Sending… (waiting for the connection)"
        : diskTrouble ? "Sending… (the poll is slow to save; it keeps trying)" : "Sending…";
    } else if (q && state.status !== "open") {
      text = saved ? "Voting is closed. Your answer was saved." : "Voting is closed.";
    } else if (q && dirty()) {
      text = saved ? "Changed, not sent yet. Press “Update answer” to save it."
        : "Not sent yet. Press “Submit answer” to send it.";
    } else if (saved) {
      text = "✓ Your answer is saved. You can change it while voting is open.";
      kind = "ok";
    }
    if (el.status.textContent !== text) el.status.textContent = text;
    el.status.className = "status" + (kind ? " " + kind : "");
    el.submit.textContent = q && state.status !== "open" ? "Voting closed"
      : saved ? "Update answer" : "Submit answer";
    el.conn.textContent = !live && (everLive || attempt > 0) ? "Reconnecting…"
      : live && diskTrouble ? "Saving delayed" : "";
  }

  /* ---- messages from the server ---- */

  function onState(m, first) {
    state = m;
    var title = typeof m.title === "string" ? m.title : "";
    el.deck.textContent = title;
    document.title = title ? title + " – livepoll" : "livepoll";
    var q = question();
    el.waiting.hidden = !!q;
    el.form.hidden = el.submit.hidden = !q;
    if (!q) {
      shown = "";
      notice = null;
      el.waiting.textContent = m.question ? "This question cannot be answered on this page."
        : "Waiting for the next question…";
      render();
      return;
    }
    var key = keyOf(q.id);
    var wasDirty = shown && dirty();
    // The reply to hello is the server's word on this question: it knows our
    // answer (your_answer) or has none, whatever this phone remembers.
    if (Array.isArray(m.your_answer)) remember(key, m.your_answer);
    else if (first) remember(key, null);
    var identity = JSON.stringify([title, q]);
    if (identity !== shown) {
      // Focus that was in the old question (or nowhere) moves to the new prompt,
      // so keyboard and screen reader users land on it instead of the page top.
      var active = document.activeElement;
      var lost = !active || active === document.body || el.form.contains(active) ||
        active === el.submit;
      build(q);
      shown = identity;
      notice = null;
      wasDirty = false;
      if (lost) el.prompt.focus();
    }
    el.progress.textContent = "Question " + (Number(m.index) + 1) + " of " + Number(m.count);
    var open = m.status === "open";
    if (!open || !wasDirty) check(answerOf(key));
    el.fieldset.disabled = !open;
    el.submit.disabled = !open;
    render();
  }

  function onAck(m) {
    if (typeof m.seq !== "number" || typeof m.q !== "string" || !Array.isArray(m.answer)) return;
    var mine = !!pending && pending.seq === m.seq;
    var key = mine ? pending.k : keyOf(m.q);
    var wasDirty = dirty();
    if (!(m.seq < (lastAck[key] || 0))) {
      lastAck[key] = m.seq;
      remember(key, m.answer);
    }
    if (mine) {
      pending = null;
      save("pending", null);
      notice = null;
    }
    var q = question();
    if (q && keyOf(q.id) === key && !wasDirty) check(answerOf(key));
    render();
  }

  function onError(m) {
    var code = String(m.code || "");
    if (code === "bad_voter") { // a damaged stored token: start afresh with a new one
      save("voter", null);
      drop();
      return;
    }
    if (code === "no_hello") {
      hello();
      resend();
      return;
    }
    var mine = !!pending && m.seq === pending.seq;
    if (typeof m.seq === "number" && !mine) return; // about a vote already superseded
    var message = typeof m.message === "string" && m.message ? m.message : "";
    var text = PLAIN[code] ||
      (message ? message.charAt(0).toUpperCase() + message.slice(1) + "." : "Something went wrong.");
    if (mine) {
      var q = question();
      var key = pending.k;
      pending = null;
      save("pending", null);
      if (!q || keyOf(q.id) !== key) {
        text = "Your answer to an earlier question was not saved: " +
          text.charAt(0).toLowerCase() + text.slice(1);
      } else if (CLOSED[code]) {
        check(answerOf(key)); // show what is really saved, not what was refused
      }
    }
    notice = { text: text, kind: "err" };
    render();
  }

  /* ---- the connection ---- */

  var ws = null;
  var live = false; // the server has answered on this socket
  var everLive = false;
  var attempt = 0;
  var retryTimer = 0;
  var probeTimer = 0;
  var ackTimer = 0;
  var firstState = false;

  // Relative to the page ("/ws" when served at "/"), so a reverse proxy may
  // mount livepoll under a path; wss: whenever the page itself came over https.
  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      location.pathname.replace(/[^/]*$/, "") + "ws";
  }

  function send(message) {
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(message));
    return true;
  }
  function hello() { return send({ type: "hello", voter: voterToken() }); }

  function resend() {
    if (!pending) return;
    var answer = pending.t === "multi" ? pending.a : pending.a[0];
    if (send({ type: "vote", q: pending.q, answer: answer, seq: pending.seq })) watchAck();
  }

  // A vote without an ack may be waiting on a slow disk (fine) or on a socket
  // that died silently (phone asleep, Wi-Fi gone): ask, and reconnect if unheard.
  function watchAck() {
    clearTimeout(ackTimer);
    ackTimer = setTimeout(function () {
      ackTimer = 0;
      // A server that reported disk trouble is alive and will ack once it
      // commits; a probe would only queue behind that commit and time out.
      if (pending && ws) {
        if (!diskTrouble) probe();
        watchAck();
      }
    }, ACK_PATIENCE);
  }

  function probe() {
    if (probeTimer || !hello()) return;
    probeTimer = setTimeout(function () {
      probeTimer = 0;
      drop();
    }, PROBE_TIMEOUT);
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) return;
    var sock;
    try {
      sock = new WebSocket(socketUrl());
    } catch (e) {
      retry();
      return;
    }
    ws = sock;
    // Until the server answers, a silent network counts as a failed attempt.
    probeTimer = setTimeout(function () {
      probeTimer = 0;
      drop();
    }, CONNECT_TIMEOUT);
    sock.onopen = function () {
      if (ws !== sock) return;
      firstState = true;
      hello();
      resend();
    };
    sock.onmessage = function (event) {
      if (ws === sock) receive(event.data);
    };
    sock.onclose = function () {
      if (ws === sock) drop();
    };
  }

  function drop() {
    var sock = ws;
    ws = null;
    live = false;
    clearTimeout(probeTimer);
    clearTimeout(ackTimer);
    probeTimer = ackTimer = 0;
    if (sock) {
      sock.onopen = sock.onmessage = sock.onclose = null;
      try { sock.close(); } catch (e) { /* already closed */ }
    }
    retry();
    render();
  }

  // Exponential backoff with full jitter: after a venue Wi-Fi hiccup, thousands
  // of phones come back spread over the window instead of all in one instant.
  function retry() {
    if (retryTimer || ws) return;
    var cap = Math.min(BACKOFF_MAX, BACKOFF_FIRST * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = setTimeout(connect, Math.random() * cap);
  }

  function wake() {
    if (document.visibilityState === "hidden") return;
    if (ws) {
      probe(); // after sleep a socket can look open and be dead
    } else {
      attempt = 0;
      connect();
    }
  }

  function receive(data) {
    var m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!m || typeof m !== "object") return;
    clearTimeout(probeTimer);
    probeTimer = 0;
    if (!live) {
      live = everLive = true;
      attempt = 0;
    }
    if (m.type === "state") {
      var first = firstState;
      firstState = false;
      onState(m, first);
    } else if (m.type === "ack") {
      onAck(m);
    } else if (m.type === "error") {
      onError(m);
    } else if (m.type === "notice") {
      if (m.code === "storage_problem") diskTrouble = true;
      if (m.code === "storage_ok") diskTrouble = false;
      render();
    } else {
      render();
    }
  }

  /* ---- the person ---- */

  // An explicit Submit, for single choice too: arrow keys move through radio
  // buttons and each move would otherwise send a vote; a stray tap while
  // scrolling sends nothing; and one way of answering for both question types
  // is the easiest to explain in a room.
  function submit() {
    var q = question();
    if (!q || state.status !== "open") return;
    var chosen = selection();
    if (!chosen.length) {
      notice = { text: q.type === "multi" ? "Choose at least one option first." : "Choose an option first.", kind: "err" };
      render();
      return;
    }
    notice = null;
    var key = keyOf(q.id);
    if (!same(chosen, answerOf(key))) {
      pending = { k: key, q: q.id, t: q.type, a: chosen, seq: nextSeq() };
      save("pending", pending);
      resend();
    }
    render();
  }

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  el.options.addEventListener("change", function () {
    notice = null;
    render();
  });
  window.addEventListener("online", wake);
  window.addEventListener("pageshow", wake);
  document.addEventListener("visibilitychange", wake);
  window.addEventListener("offline", function () {
    if (ws) drop();
  });
  connect();
})();
