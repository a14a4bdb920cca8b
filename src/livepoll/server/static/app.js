/* livepoll voting page: the current question, answered over a WebSocket.
 *
 * Plain ES2017 and the DOM, no build step, nothing fetched from elsewhere, so it
 * runs on whatever phone the audience carries and under the server's strict CSP.
 *
 * - Every string from the deck or from other people (prompts, options, answers,
 *   Q&A questions, nicknames) only ever goes through textContent; no string is
 *   parsed as HTML, so an answer like <img onerror=...> stays text.
 * - "Saved" appears only after the server's ack, which means the vote is durable.
 *   Until then the vote waits in localStorage and is resent with the same seq
 *   after any reconnect or reload; the server treats a repeat as the same answer.
 *   Upvotes say up or down explicitly, so they are resent the same way; a Q&A
 *   question is not (a repeat would post it twice): the page says to check.
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
  var CLOSED = { question_closed: 1, question_not_open: 1, no_such_question: 1, time_up: 1 };
  var PLAIN = {
    question_closed: "Voting on this question has closed.",
    question_not_open: "Voting on this question has not opened yet.",
    no_such_question: "This question is no longer part of the poll.",
    time_up: "Time is up for this question.",
    no_such_option: "That option is not available. Please choose again.",
    too_many_choices: "Too many options chosen. Please choose fewer.",
    bad_answer: "That answer could not be saved. Please check it.",
    no_such_item: "That question is no longer on the list.",
    frame_too_large: "That was too large to send.",
    rate_limited: "Too much at once. Please wait a moment and try again."
  };
  var JOIN = {
    code_needed: "Enter the room code shown on the screen.",
    bad_code: "That room code is not the one on the screen. Check it and try again.",
    code_expired: "The room code has changed. Enter the code shown on the screen now.",
    join_wait: "Too many wrong codes were tried from this network. Wait a little, then try again.",
    ticket_needed: "Enter the ticket code from your badge.",
    bad_ticket: "That ticket code does not exist. Check it and try again.",
    ticket_used: "That ticket is already used on another phone. Enter your own ticket code."
  };
  var CHOICE = { single: 1, multi: 1, quiz: 1 };
  var BUILD = { single: choice, multi: choice, quiz: choice, scale: scale, ranking: ranking,
    number: number, text: text, qa: text };
  var NICK_HINT = "Optional: skip it to play as “Anonymous”.";

  var el = {};
  ("deck conn waiting join joinLabel joinMsg joinInput nick nickInput nickMsg nickSkip " +
   "nickShow nickName nickEdit form progress timer fieldset prompt hint options qa qaEmpty " +
   "items results resSum resList lbTitle board status submit say").split(" ").forEach(
    function (id) { el[id] = document.getElementById(id); });

  function make(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  function empty(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function upper(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  function lower(s) { return s.charAt(0).toLowerCase() + s.slice(1); }
  function json(v) { return JSON.stringify(v === undefined ? null : v); }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function num(x) { return typeof x === "number" ? String(Math.round(x * 100) / 100) : "–"; }
  // As the server cleans text: no control or direction characters, single spaces.
  function clean(s) {
    return String(s).normalize("NFC")
      .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, " ")
      .replace(/\s+/g, " ").trim();
  }
  function say(words) { // for screen readers: what a move did
    el.say.textContent = el.say.textContent === words ? words + "\u00a0" : words;
  }

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

  // A room code (in the QR code's URL) or a badge ticket: kept for the hello,
  // and taken out of the address bar so it is not shared with a screenshot.
  (function () {
    var url = new URL(location.href);
    var found = false;
    ["code", "ticket"].forEach(function (name) {
      var value = url.searchParams.get(name);
      if (value === null) return;
      if (value.trim()) save(name, value.trim().toUpperCase().slice(0, 32));
      url.searchParams.delete(name);
      found = true;
    });
    if (found && window.history.replaceState) {
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  })();

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

  /* Own answers, per deck title and question id, so going back shows them.
     For a Q&A the "answer" is the list of items this phone upvoted. */
  function savedAnswer(key) {
    var all = load("answers");
    var answer = all && typeof all === "object" ? all[key] : null;
    return answer === undefined ? null : answer;
  }
  function remember(key, answer) {
    var all = load("answers");
    if (!all || typeof all !== "object") all = {};
    if (answer !== null && answer !== undefined) all[key] = answer;
    else delete all[key];
    save("answers", all);
  }

  var state = null; // the last state frame
  var shown = ""; // identity of the question the form was built for
  var ui = null; // the controls of that question
  var notice = null; // {text, kind}: shown until the person's next action
  var diskTrouble = false; // the server said it cannot save right now (and keeps trying)
  var lastAck = {}; // key -> highest acked seq, so a late older ack changes nothing
  var pending = load("pending"); // {k, q, t, a, seq}: sent or to send, not yet acked
  if (!pending || typeof pending.seq !== "number" || typeof pending.q !== "string" ||
      typeof pending.k !== "string" || pending.a === null || pending.a === undefined) pending = null;
  var results = null; // what the server lets phones see of the current question
  var items = null; // the Q&A's visible questions, in the server's order
  var ups = []; // upvotes sent, not yet acked: {k, q, item, up, seq}
  var asking = null; // a Q&A question sent, not yet acked: {seq, q, text}; resent on reconnect
  var nickSeq = -1;
  var nickSent = false; // on this connection
  var nickEditing = false;
  var refused = ""; // what the server wants before letting this phone in
  var deadline = 0; // performance.now() at which a timed question closes; 0: untimed
  var timeUp = false;
  var clockTimer = 0;
  var drawnItems = "";
  var drawnResults = "";

  function question() {
    var q = !refused && state && state.question;
    if (!q || typeof q.id !== "string" || !BUILD[q.type]) return null;
    if ((CHOICE[q.type] || q.type === "ranking") && !Array.isArray(q.options)) return null;
    return q;
  }
  function keyOf(id) { return (state && state.title ? String(state.title) : "") + "\n" + id; }
  function isOpen() { return !!state && state.status === "open" && !timeUp; }
  /* What the form shows when the person is not editing: in flight, else saved. */
  function answerOf(key) {
    return pending && pending.k === key ? pending.a : savedAnswer(key);
  }
  function dirty() {
    var q = question();
    return !!q && !!ui && isOpen() && ui.val() !== ui.fmt(answerOf(keyOf(q.id)));
  }

  /* ---- the controls of each question type ----
     Each returns {val, fmt, read, show, ...}: val() and fmt(answer) are comparable
     strings (is the form showing that answer?), read() the answer to send, or
     null when nothing is chosen, show(answer) puts an answer in the controls. */

  function choice(q) {
    var multi = q.type === "multi";
    var all = [];
    q.options.forEach(function (option, i) {
      var label = make("label", "opt");
      var input = make("input");
      input.type = multi ? "checkbox" : "radio";
      input.name = "answer";
      input.value = String(i);
      label.appendChild(input);
      label.appendChild(make("span", "", option));
      el.options.appendChild(label);
      all.push(input);
    });
    function chosen() {
      var list = [];
      all.forEach(function (input, i) { if (input.checked) list.push(i); });
      return list;
    }
    return {
      val: function () { return json(chosen()); },
      fmt: function (a) { return json(Array.isArray(a) ? a : []); },
      read: function () { var list = chosen(); return list.length ? list : null; },
      show: function (a) {
        all.forEach(function (input, i) { input.checked = Array.isArray(a) && a.indexOf(i) >= 0; });
      },
      need: multi ? "Choose at least one option first." : "Choose an option first.",
      // Marks chosen options and, for multi, disables the rest once the limit is reached;
      // after a quiz closes, marks the right answers.
      paint: function () {
        var max = multi ? Number(q.max_choices) || all.length : 1;
        var full = multi && isOpen() && chosen().length >= max;
        var correct = q.type === "quiz" && Array.isArray(state.correct) ? state.correct : null;
        all.forEach(function (input, i) {
          var off = full && !input.checked;
          input.disabled = off;
          input.parentNode.className = "opt" + (input.checked ? " on" : "") + (off ? " off" : "") +
            (correct ? (correct.indexOf(i) >= 0 ? " right" : input.checked ? " wrong" : "") : "");
        });
        el.hint.textContent = !multi ? "Choose one answer."
          : max >= all.length ? "Choose all that apply."
          : "Choose up to " + max + "." + (full ? " To pick another, untick one first." : "");
      }
    };
  }

  function scale(q) {
    var low = typeof q.min === "number" ? q.min : 1;
    var high = typeof q.max === "number" ? q.max : 5;
    var row = make("div", "scale");
    var all = [];
    for (var v = low; v <= high; v++) {
      var label = make("label", "pt");
      var input = make("input");
      input.type = "radio";
      input.name = "answer";
      input.value = String(v);
      label.appendChild(input);
      label.appendChild(make("span", "", v));
      row.appendChild(label);
      all.push(input);
    }
    el.options.appendChild(row);
    var ends = Array.isArray(q.labels) && q.labels.length === 2 ? q.labels : null;
    if (ends) {
      var words = make("div", "ends");
      words.setAttribute("aria-hidden", "true"); // the hint says it to screen readers
      words.appendChild(make("span", "", low + " · " + ends[0]));
      words.appendChild(make("span", "", ends[1] + " · " + high));
      el.options.appendChild(words);
    }
    el.hint.textContent = ends
      ? "Choose from " + low + " (" + ends[0] + ") to " + high + " (" + ends[1] + ")."
      : "Choose from " + low + " to " + high + ".";
    function val() {
      for (var i = 0; i < all.length; i++) if (all[i].checked) return all[i].value;
      return "";
    }
    return {
      val: val,
      fmt: function (a) { return typeof a === "number" ? String(a) : ""; },
      read: function () { return val() ? Number(val()) : null; },
      show: function (a) {
        all.forEach(function (input) { input.checked = input.value === String(a); });
      },
      need: "Choose a point on the scale first.",
      paint: function () {
        all.forEach(function (input) {
          input.parentNode.className = "pt" + (input.checked ? " on" : "");
        });
      }
    };
  }

  function ranking(q) {
    var n = q.options.length;
    var first = q.options.map(function (_, i) { return i; });
    var order = first.slice();
    var list = make("ol", "rank");
    el.options.appendChild(list);
    el.hint.textContent = "Put the options in order, best first, with the ▲ and ▼ buttons.";
    function valid(a) { return Array.isArray(a) && a.length === n ? a : first; }
    function draw() {
      empty(list);
      order.forEach(function (option, at) {
        var li = make("li", "rk");
        li.appendChild(make("span", "pos", at + 1));
        li.appendChild(make("span", "txt", q.options[option]));
        [-1, 1].forEach(function (step) {
          var button = make("button", "mv", step < 0 ? "▲" : "▼");
          button.type = "button";
          button.setAttribute("aria-label", "Move " + q.options[option] + (step < 0 ? " up" : " down"));
          button.disabled = step < 0 ? at === 0 : at === n - 1;
          button.addEventListener("click", function () { move(at, step); });
          li.appendChild(button);
        });
        list.appendChild(li);
      });
    }
    function move(at, step) {
      var to = at + step;
      var option = order[at];
      if (to < 0 || to >= n || !isOpen()) return;
      order[at] = order[to];
      order[to] = option;
      draw();
      // Focus stays with the option that moved, on the button that can move it further.
      var buttons = list.children[to].getElementsByTagName("button");
      var next = buttons[step < 0 ? 0 : 1];
      (next.disabled ? buttons[step < 0 ? 1 : 0] : next).focus();
      say(q.options[option] + " moved to position " + (to + 1) + " of " + n + ".");
      notice = null;
      render();
    }
    draw();
    return {
      val: function () { return json(order); },
      fmt: function (a) { return json(valid(a)); },
      read: function () { return order.slice(); },
      show: function (a) {
        if (json(valid(a)) === json(order)) return; // redrawing would lose the focus
        order = valid(a).slice();
        draw();
      },
      need: ""
    };
  }

  function field(kind, name, hint) {
    var label = make("label", "lab", name);
    var input = make(kind, "field");
    input.id = "answer";
    label.htmlFor = "answer";
    input.setAttribute("aria-describedby", hint);
    el.options.appendChild(label);
    return input;
  }

  // Accepts what people type on a phone: "1,5" and "1.5", "1,000", spaces, a real minus.
  function parseNumber(raw) {
    var s = raw.replace(/[\s_]/g, "").replace(/\u2212/g, "-");
    s = /^[-+]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$/.test(s) ? s.replace(/,/g, "") : s.replace(",", ".");
    return /^[-+]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : NaN;
  }

  function number(q) {
    var unit = q.unit ? String(q.unit) : "";
    var low = typeof q.min === "number" ? q.min : null;
    var high = typeof q.max === "number" ? q.max : null;
    var input = field("input", unit ? "Your answer (" + unit + ")" : "Your answer", "hint");
    var row = make("div", "row");
    input.type = "text";
    input.inputMode = low !== null && low >= 0 ? "decimal" : "text";
    input.autocomplete = "off";
    row.appendChild(input);
    if (unit) row.appendChild(make("span", "unit", unit)).setAttribute("aria-hidden", "true");
    el.options.appendChild(row);
    var after = unit ? " " + unit : "";
    el.hint.textContent = low !== null && high !== null
      ? "A number from " + low + " to " + high + after + "."
      : low !== null ? "A number, " + low + after + " or more."
      : high !== null ? "A number, " + high + after + " or less." : "A number.";
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); });
    return {
      val: function () { return input.value.trim(); },
      fmt: function (a) { return typeof a === "number" ? String(a) : ""; },
      read: function () { return input.value.trim() ? parseNumber(input.value) : null; },
      show: function (a) {
        var v = typeof a === "number" ? String(a) : "";
        if (input.value !== v) input.value = v;
      },
      need: "Enter a number first.",
      check: function () {
        if (!input.value.trim()) return "";
        var v = parseNumber(input.value);
        var problem = isNaN(v) ? "Enter a number, such as 42 or 3.5."
          : low !== null && v < low ? "The lowest answer is " + low + after + "."
          : high !== null && v > high ? "The highest answer is " + high + after + "." : "";
        if (problem) input.setAttribute("aria-invalid", "true");
        return problem;
      }
    };
  }

  // A text answer, or the question a Q&A attendee asks; both with a live count.
  function text(q) {
    var qa = q.type === "qa";
    var max = Number(q.max_length) || 120;
    var input = field(qa || max > 80 ? "textarea" : "input", qa ? "Your question" : "Your answer",
      "hint count");
    var count = make("p", "count");
    count.id = "count";
    input.maxLength = max;
    if (input.tagName === "TEXTAREA") input.rows = 3;
    else input.type = "text";
    input.autocomplete = "off";
    el.options.appendChild(input);
    el.options.appendChild(count);
    el.hint.textContent = qa
      ? "Ask a question; upvote the ones you want answered." +
        (q.moderated ? " Questions appear once the chair approves them." : "")
      : q.display === "wall" ? "Write a short answer." : "A word or a few: they make the word cloud.";
    function counted() { count.textContent = input.value.length + " / " + max; }
    input.addEventListener("input", counted);
    counted();
    return {
      val: function () { return input.value; },
      fmt: function (a) { return !qa && typeof a === "string" ? a : ""; },
      read: function () { return clean(input.value) || null; },
      show: function (a) {
        if (qa && a !== "") return; // the question being written stays until it is sent
        var v = typeof a === "string" ? a : "";
        if (input.value !== v) input.value = v;
        counted();
      },
      need: qa ? "Write your question first." : "Write your answer first."
    };
  }

  /* ---- rendering ---- */

  function build(q) {
    el.prompt.textContent = String(q.prompt);
    el.hint.textContent = "";
    empty(el.options);
    ui = BUILD[q.type](q);
    drawnItems = drawnResults = "";
  }

  function mine(key) {
    var list = savedAnswer(key);
    return Array.isArray(list) ? list : [];
  }
  /* Questions this phone asked in a moderated Q&A, {id, text} by question key: the
     page lists them as waiting until the chair approves them (then they come back in
     the room's list) — the server shows phones approved questions only. */
  function asked(key) {
    var all = load("asked");
    var list = all && typeof all === "object" ? all[key] : null;
    return Array.isArray(list) ? list : [];
  }
  function rememberAsked(key, id, text) {
    var all = load("asked");
    if (!all || typeof all !== "object") all = {};
    var list = asked(key).filter(function (a) { return a && a.id !== id; });
    list.push({ id: id, text: text });
    all[key] = list;
    save("asked", all);
  }
  function upvoted(key, id) {
    for (var i = ups.length - 1; i >= 0; i--) if (ups[i].k === key && ups[i].item === id) return ups[i].up;
    return mine(key).indexOf(id) >= 0;
  }

  function drawItems() {
    var q = question();
    var on = !!q && q.type === "qa";
    el.qa.hidden = !on;
    if (!on) return;
    var key = keyOf(q.id);
    var list = (items || []).filter(function (item) { return item && typeof item.id === "number"; });
    var marks = list.map(function (item) { return upvoted(key, item.id); });
    var listed = list.map(function (item) { return item.id; });
    var waiting = q.moderated ? asked(key).filter(function (a) {
      return a && typeof a.id === "number" && typeof a.text === "string" && listed.indexOf(a.id) < 0;
    }) : [];
    var drawn = json([list, marks, waiting, isOpen()]);
    if (drawn === drawnItems) return; // rebuilt only when something changed, for screen readers
    drawnItems = drawn;
    var focused = document.activeElement && el.items.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-item") : null;
    el.qaEmpty.hidden = list.length + waiting.length > 0;
    empty(el.items);
    waiting.forEach(function (a) {
      var li = make("li", "item mine");
      li.appendChild(make("p", "qt", a.text));
      li.appendChild(make("div", "qm")).appendChild(make("span", "tag wait", "Yours · waiting for the chair"));
      el.items.appendChild(li);
    });
    list.forEach(function (item, i) {
      var answered = item.state === "answered";
      var li = make("li", "item" + (answered ? " done" : ""));
      var words = make("p", "qt", item.text);
      var meta = make("div", "qm");
      var button = make("button", "up");
      words.id = "item" + item.id;
      button.appendChild(make("span", "", "▲ ")).setAttribute("aria-hidden", "true");
      button.appendChild(document.createTextNode("Upvote"));
      button.type = "button";
      button.setAttribute("data-item", String(item.id));
      button.setAttribute("aria-pressed", marks[i] ? "true" : "false");
      button.setAttribute("aria-describedby", words.id);
      button.disabled = !isOpen();
      meta.appendChild(button);
      meta.appendChild(make("span", "votes", plural(Number(item.votes) || 0, "vote")));
      if (answered) meta.appendChild(make("span", "tag", "Answered"));
      li.appendChild(words);
      li.appendChild(meta);
      el.items.appendChild(li);
      if (focused === String(item.id)) button.focus();
    });
  }

  function drawResults() {
    var q = question();
    var r = results;
    var on = !!q && !!r && typeof r === "object" && q.type !== "qa";
    el.results.hidden = !on;
    if (!on) return;
    var drawn = json([q.id, r, state.correct]);
    if (drawn === drawnResults) return;
    drawnResults = drawn;
    var rows = []; // [label, figure, share of the longest bar or null]
    var summary = "";
    var counts = Array.isArray(r.counts) ? r.counts : [];
    var most = Math.max.apply(null, counts.concat([1]));
    var total = counts.reduce(function (a, b) { return a + b; }, 0);
    if (CHOICE[q.type]) {
      var correct = Array.isArray(state.correct) ? state.correct : [];
      counts.forEach(function (c, i) {
        var share = q.type !== "multi" && total ? " · " + Math.round(100 * c / total) + "%" : "";
        rows.push([(correct.indexOf(i) >= 0 ? "✓ " : "") + q.options[i], c + share, c / most]);
      });
      summary = plural(total, q.type === "multi" ? "choice" : "vote");
    } else if (q.type === "scale" && Array.isArray(r.values)) {
      r.values.forEach(function (v, i) { rows.push([v, counts[i], counts[i] / most]); });
      summary = plural(r.count, "answer") +
        (r.count ? " · mean " + num(r.mean) + " · median " + num(r.median) : "");
    } else if (q.type === "number" && Array.isArray(r.bins)) {
      var unit = q.unit ? " " + q.unit : "";
      var top = Math.max.apply(null, r.bins.map(function (b) { return b.count; }).concat([1]));
      r.bins.forEach(function (b) { rows.push([num(b.from) + "–" + num(b.to), b.count, b.count / top]); });
      summary = plural(r.count, "answer") +
        (r.count ? " · median " + num(r.median) + unit + " · mean " + num(r.mean) + unit : "");
    } else if (q.type === "ranking" && Array.isArray(r.order)) {
      var scores = Array.isArray(r.scores) ? r.scores : [];
      var best = Math.max.apply(null, scores.concat([1]));
      r.order.forEach(function (option, at) {
        rows.push([(at + 1) + ". " + q.options[option], plural(scores[option] || 0, "point"),
          (scores[option] || 0) / best]);
      });
      summary = "Ranked by points: a first place earns the most.";
    } else if (q.type === "text") {
      if (q.display === "wall") {
        (r.latest || []).forEach(function (answer) { rows.push([answer, "", null]); });
      } else {
        var words = r.words || [];
        var often = words.length ? words[0][1] : 1;
        words.forEach(function (w) { rows.push([w[0], w[1], w[1] / often]); });
      }
      summary = plural(r.count || 0, "answer");
    }
    el.resSum.textContent = summary;
    el.resList.className = "res" + (q.type === "scale" || q.type === "number" ? " short" : "");
    empty(el.resList);
    rows.forEach(function (row) {
      var li = make("li", "");
      li.appendChild(make("span", "rl", row[0]));
      if (row[1] !== "") li.appendChild(make("span", "rv", row[1]));
      if (row[2] !== null) {
        var bar = make("span", "rb");
        var fill = bar.appendChild(make("span"));
        fill.style.width = Math.max(0, Math.min(100, Math.round(row[2] * 100))) + "%";
        li.appendChild(bar);
      }
      el.resList.appendChild(li);
    });
    var board = Array.isArray(r.leaderboard) ? r.leaderboard : null;
    el.lbTitle.hidden = el.board.hidden = !board;
    empty(el.board);
    (board || []).forEach(function (player) {
      el.board.appendChild(make("li", "", player.name + " · " + plural(player.points, "point")));
    });
  }

  function drawNick() {
    var q = question();
    var quiz = !!q && q.type === "quiz" && !refused;
    var name = load("nick");
    el.nick.hidden = !quiz || !(name === null || nickEditing);
    el.nickShow.hidden = !quiz || !el.nick.hidden || !name;
    el.nickName.textContent = typeof name === "string" ? name : "";
  }

  function render() {
    var q = question();
    var text = "";
    var kind = "";
    var saved = null;
    var sending = false;
    var qa = !!q && q.type === "qa";
    var open = !!state && state.status === "open";
    if (q) {
      var key = keyOf(q.id);
      saved = qa ? null : savedAnswer(key);
      sending = qa ? !!asking : !!pending && pending.k === key;
      if (ui.paint) ui.paint();
    }
    var correct = q && q.type === "quiz" && !open && Array.isArray(state.correct) ? state.correct : null;
    if (notice) {
      text = notice.text;
      kind = notice.kind;
    } else if (sending) {
      text = !live ? "Sending… (waiting for the connection)"
        : diskTrouble ? "Sending… (the poll is slow to save; it keeps trying)" : "Sending…";
    } else if (correct) {
      var names = correct.map(function (i) { return q.options[i]; }).join(", ");
      var right = Array.isArray(saved) && correct.indexOf(saved[0]) >= 0;
      text = !saved ? "Voting is closed. The right answer: " + names + "."
        : right ? "✓ Right! Well done." : "✗ Not this time. The right answer: " + names + ".";
      kind = saved ? (right ? "ok" : "err") : "";
    } else if (q && open && timeUp) {
      text = saved !== null ? "Time is up. Your answer was saved." : "Time is up.";
    } else if (q && !open) {
      text = qa ? "Questions are closed." : saved !== null ? "Voting is closed. Your answer was saved."
        : "Voting is closed.";
    } else if (q && dirty()) {
      text = qa ? "Not sent yet. Press “Send question” to send it."
        : saved !== null ? "Changed, not sent yet. Press “Update answer” to save it."
        : "Not sent yet. Press “Submit answer” to send it.";
    } else if (saved !== null) {
      text = "✓ Your answer is saved. You can change it while voting is open.";
      kind = "ok";
    }
    if (el.status.textContent !== text) el.status.textContent = text;
    el.status.className = "status" + (kind ? " " + kind : "");
    el.submit.textContent = qa ? (isOpen() ? "Send question" : "Questions closed")
      : q && open && timeUp ? "Time is up"
      : q && !open ? "Voting closed" : saved !== null ? "Update answer" : "Submit answer";
    el.fieldset.disabled = el.submit.disabled = !isOpen();
    el.conn.textContent = !live && (everLive || attempt > 0) ? "Reconnecting…"
      : live && diskTrouble ? "Saving delayed" : "";
    drawItems();
    drawNick();
  }

  // Counts down locally, once a second; every state frame resets it to the server's word.
  function clock() {
    clearTimeout(clockTimer);
    clockTimer = 0;
    el.timer.hidden = !deadline;
    if (!deadline) return;
    var ms = deadline - performance.now();
    var left = Math.max(0, Math.ceil(ms / 1000));
    el.timer.className = "timer" + (left <= 10 ? " low" : "");
    if (left <= 0) {
      el.timer.textContent = "Time is up";
      if (!timeUp) {
        timeUp = true;
        render();
      }
      return;
    }
    el.timer.textContent = "Time left " + Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    clockTimer = setTimeout(clock, (ms % 1000) + 30);
  }

  /* ---- messages from the server ---- */

  function onState(m, first) {
    state = m;
    refused = "";
    el.join.hidden = true;
    var title = typeof m.title === "string" ? m.title : "";
    el.deck.textContent = title;
    document.title = title ? title + " – livepoll" : "livepoll";
    var q = question();
    el.waiting.hidden = !!q;
    el.form.hidden = el.submit.hidden = !q;
    results = m.results && typeof m.results === "object" ? m.results : null;
    items = Array.isArray(m.items) ? m.items : null;
    var timed = typeof m.time_left === "number" && m.status === "open";
    deadline = timed ? performance.now() + m.time_left * 1000 : 0;
    timeUp = timed && m.time_left <= 0;
    if (!q) {
      shown = "";
      ui = null;
      notice = null;
      el.waiting.textContent = m.question ? "This question cannot be answered on this page."
        : "Waiting for the next question…";
      clock();
      drawResults();
      render();
      return;
    }
    var key = keyOf(q.id);
    var wasDirty = shown && dirty();
    // The reply to hello is the server's word on this question: it knows our
    // answer (your_answer; a Q&A's upvotes) or has none, whatever this phone remembers.
    if (m.your_answer !== undefined && m.your_answer !== null) remember(key, m.your_answer);
    else if (first) remember(key, null);
    var identity = json([title, q]);
    if (identity !== shown) {
      // Focus that was in the old question (or nowhere) moves to the new prompt,
      // so keyboard and screen reader users land on it instead of the page top.
      var active = document.activeElement;
      var lost = !active || active === document.body || el.form.contains(active) ||
        active === el.submit || el.items.contains(active) || el.join.contains(active);
      build(q);
      shown = identity;
      notice = null;
      asking = null;
      wasDirty = false;
      if (lost) el.prompt.focus();
    }
    el.progress.textContent = "Question " + (Number(m.index) + 1) + " of " + Number(m.count);
    if (!isOpen() || !wasDirty) ui.show(answerOf(key));
    if (q.type === "quiz") sendNick();
    clock();
    drawResults();
    render();
  }

  function onResults(m) {
    var q = question();
    if (!q || m.q !== q.id) return;
    results = m.results && typeof m.results === "object" ? m.results : null;
    if (Array.isArray(m.items)) items = m.items;
    drawResults();
    drawItems();
  }

  function onAck(m) {
    if (typeof m.seq !== "number") return;
    if (m.seq === nickSeq) {
      nickSeq = -1;
      if (typeof m.answer === "string" && m.answer) save("nick", m.answer);
      drawNick();
      return;
    }
    var q = question();
    if (asking && m.seq === asking.seq) {
      if (q && q.type === "qa" && q.moderated && typeof m.item === "number") {
        rememberAsked(keyOf(asking.q), m.item, asking.text);
        drawnItems = "";
        drawItems();
      }
      asking = null;
      if (q && q.type === "qa") {
        ui.show("");
        notice = { text: "✓ Your question was sent." +
          (q.moderated ? " It appears once the chair approves it." : ""), kind: "ok" };
      }
      render();
      return;
    }
    for (var i = 0; i < ups.length; i++) {
      if (ups[i].seq !== m.seq) continue;
      var up = ups.splice(i, 1)[0];
      var list = mine(up.k).filter(function (id) { return id !== up.item; });
      if (up.up) list.push(up.item);
      remember(up.k, list);
      render();
      return;
    }
    if (typeof m.q !== "string" || m.answer === undefined) return;
    var ours = !!pending && pending.seq === m.seq;
    var key = ours ? pending.k : keyOf(m.q);
    var wasDirty = dirty();
    if (!(m.seq < (lastAck[key] || 0))) {
      lastAck[key] = m.seq;
      remember(key, m.answer);
    }
    if (ours) {
      pending = null;
      save("pending", null);
      notice = null;
    }
    if (q && keyOf(q.id) === key && !wasDirty) ui.show(answerOf(key));
    render();
  }

  // The server wants a room code or a ticket before this phone may vote.
  function refuse(code) {
    var ticket = code.indexOf("ticket") >= 0;
    // A wrong or stale code is forgotten; one refused unchecked (join_wait) may be right.
    if (!/needed|wait/.test(code)) save(ticket ? "ticket" : "code", null);
    refused = code;
    el.joinLabel.textContent = ticket ? "Ticket code" : "Room code";
    el.joinMsg.textContent = JOIN[code];
    el.join.hidden = false;
    el.waiting.hidden = el.form.hidden = el.submit.hidden = el.qa.hidden = el.results.hidden = true;
    drawNick();
    el.joinInput.setAttribute("aria-invalid", /needed|wait/.test(code) ? "false" : "true");
    if (!el.join.contains(document.activeElement)) el.joinInput.focus();
  }

  function onError(m) {
    var code = String(m.code || "");
    if (code === "bad_voter") { // a damaged stored token: start afresh with a new one
      save("voter", null);
      drop();
      return;
    }
    if (JOIN[code]) {
      refuse(code);
      return;
    }
    if (code === "no_hello") {
      firstState = true; // the reply to this hello resends what is waiting
      hello();
      return;
    }
    var seq = m.seq;
    var ours = !!pending && seq === pending.seq;
    var asked = !!asking && seq === asking.seq;
    var up = -1;
    for (var i = 0; i < ups.length; i++) if (ups[i].seq === seq) up = i;
    if (typeof seq === "number" && !ours && !asked && up < 0 && seq !== nickSeq) {
      return; // about something already superseded
    }
    var message = typeof m.message === "string" && m.message ? m.message : "";
    var text = PLAIN[code] || (message ? upper(message) + "." : "Something went wrong.");
    if (typeof seq === "number" && seq === nickSeq) {
      nickSeq = -1;
      nickEditing = true;
      el.nickInput.value = load("nick") || "";
      save("nick", null);
      el.nickMsg.textContent = text;
      drawNick();
      return;
    }
    var q = question();
    if (asked) {
      asking = null;
      text = "Your question was not sent: " + lower(text);
    }
    if (up >= 0) {
      ups.splice(up, 1);
      text = "Your upvote was not saved: " + lower(text);
    }
    if (ours) {
      var key = pending.k;
      pending = null;
      save("pending", null);
      if (!q || keyOf(q.id) !== key) {
        text = "Your answer to an earlier question was not saved: " + lower(text);
      } else if (CLOSED[code]) {
        ui.show(answerOf(key)); // show what is really saved, not what was refused
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
  function hello() {
    var message = { type: "hello", voter: voterToken() };
    var code = load("code");
    var ticket = load("ticket");
    if (typeof code === "string" && code) message.code = code;
    if (typeof ticket === "string" && ticket) message.ticket = ticket;
    return send(message);
  }
  function waiting() { return !!pending || !!asking || ups.length > 0; }

  function resend() {
    if (!pending) return;
    var answer = CHOICE[pending.t] && pending.t !== "multi" && Array.isArray(pending.a)
      ? pending.a[0] : pending.a;
    if (send({ type: "vote", q: pending.q, answer: answer, seq: pending.seq })) watchAck();
  }
  function sendAsk() {
    if (send({ type: "ask", q: asking.q, text: asking.text, seq: asking.seq })) watchAck();
  }
  function sendUp(up) {
    if (send({ type: "upvote", q: up.q, item: up.item, up: up.up, seq: up.seq })) watchAck();
  }
  function sendNick() {
    var name = load("nick");
    if (typeof name !== "string" || !name || nickSent || !live) return;
    nickSeq = nextSeq();
    nickSent = send({ type: "nickname", name: name, seq: nickSeq });
  }

  // A message without an ack may be waiting on a slow disk (fine) or on a socket
  // that died silently (phone asleep, Wi-Fi gone): ask, and reconnect if unheard.
  function watchAck() {
    clearTimeout(ackTimer);
    ackTimer = setTimeout(function () {
      ackTimer = 0;
      // A server that reported disk trouble is alive and will ack once it
      // commits; a probe would only queue behind that commit and time out.
      if (waiting() && ws) {
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
      hello(); // what is waiting is resent once the server has let this phone in
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
    nickSent = false;
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
      if (first) {
        resend();
        ups.forEach(sendUp);
        if (asking) sendAsk(); // the server answers a repeat with the item it already made
      }
    } else if (m.type === "results") {
      onResults(m);
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
  // scrolling sends nothing; and one way of answering for every question type
  // is the easiest to explain in a room.
  function submit() {
    var q = question();
    if (!q || !isOpen()) return;
    var problem = ui.check ? ui.check() : "";
    var answer = problem ? null : ui.read();
    if (!problem && answer === null) problem = ui.need;
    if (problem) {
      notice = { text: problem, kind: "err" };
      render();
      return;
    }
    notice = null;
    var key = keyOf(q.id);
    if (q.type === "qa") {
      if (!asking) {
        asking = { seq: nextSeq(), q: q.id, text: answer };
        sendAsk(); // or, offline, once the connection is back
      }
    } else if (json(answer) !== json(answerOf(key))) {
      pending = { k: key, q: q.id, t: q.type, a: answer, seq: nextSeq() };
      save("pending", pending);
      resend();
    }
    if (q.type !== "qa") ui.show(answerOf(key)); // as it will be saved: tidied text, a plain number
    render();
  }

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  function edited() {
    notice = null;
    render();
  }
  el.options.addEventListener("change", edited);
  el.options.addEventListener("input", edited);

  el.items.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    var q = question();
    if (!button || !q || !isOpen()) return;
    var id = Number(button.getAttribute("data-item"));
    var key = keyOf(q.id);
    var up = { k: key, q: q.id, item: id, up: !upvoted(key, id), seq: nextSeq() };
    ups = ups.filter(function (u) { return u.k !== key || u.item !== id; });
    ups.push(up);
    sendUp(up);
    notice = null;
    render();
  });

  el.join.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = el.joinInput.value.trim().toUpperCase().slice(0, 32);
    if (!value) {
      el.joinMsg.textContent = "Enter the code first.";
      return;
    }
    save(refused.indexOf("ticket") >= 0 ? "ticket" : "code", value);
    el.joinMsg.textContent = "Joining…";
    if (!hello()) connect();
  });

  el.nick.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = clean(el.nickInput.value);
    if (!name) {
      el.nickMsg.textContent = "Write a name, or press Skip.";
      return;
    }
    save("nick", name.slice(0, 24));
    el.nickMsg.textContent = NICK_HINT;
    nickEditing = nickSent = false;
    sendNick();
    drawNick();
    el.prompt.focus();
  });
  el.nickSkip.addEventListener("click", function () {
    save("nick", "");
    nickEditing = false;
    el.nickMsg.textContent = NICK_HINT;
    drawNick();
    el.prompt.focus();
  });
  el.nickEdit.addEventListener("click", function () {
    nickEditing = true;
    el.nickInput.value = load("nick") || "";
    drawNick();
    el.nickInput.focus();
  });

  window.addEventListener("online", wake);
  window.addEventListener("pageshow", wake);
  document.addEventListener("visibilitychange", wake);
  window.addEventListener("offline", function () {
    if (ws) drop();
  });
  connect();
})();
