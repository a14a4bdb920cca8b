/* livepoll voting page: plain ES2017 and the DOM, no build step, nothing from
 * elsewhere (strict CSP). Text from the deck or other people only ever goes
 * through textContent. "Saved" shows only after the server's ack (the vote is
 * durable); until then it waits in localStorage and is resent with the same seq
 * after any reconnect, and the server counts a repeat once. A Q&A question is not
 * resent blindly (the page says to check). */
(function () {
  "use strict";

  var PREFIX = "livepoll.";
  var TOKEN = /^[A-Za-z0-9_-]{22,64}$/;
  var BACKOFF_FIRST = 500;
  var BACKOFF_MAX = 10000;
  var ACK_PATIENCE = 8000; // no ack by then: check that the socket is still alive
  var PROBE_TIMEOUT = 5000; // a live server answers a hello within this
  var CONNECT_TIMEOUT = 10000; // Wi-Fi that swallows packets would leave us waiting minutes
  var SILENT_AFTER = 4000; // no word from the server by then: say so, and offer to retry
  var SAY_FOR = 5000; // a screen reader has read an announcement by then; it is cleared
  var CLOSED = { question_closed: 1, question_not_open: 1, no_such_question: 1, time_up: 1 };
  var PLAIN = { question_closed: 1, question_not_open: 1, no_such_question: 1, time_up: 1,
    no_such_option: 1, too_many_choices: 1, bad_answer: 1, no_such_item: 1, frame_too_large: 1,
    rate_limited: 1, qa_full: 1, answers_full: 1 }; // error codes the catalogues explain in plain words (err_CODE)
  var JOIN = { code_needed: 1, bad_code: 1, code_expired: 1, join_wait: 1, ticket_needed: 1,
    bad_ticket: 1, ticket_used: 1 };
  /* The languages of the page, each named in itself; a catalogue per language
     (static/LANG.json) holds every word the page shows. */
  var LANGUAGES = { en: "English", cy: "Cymraeg", fr: "Français", de: "Deutsch", es: "Español",
    ar: "العربية" };
  var RTL = { ar: 1 };
  var CHOICE = { single: 1, multi: 1, quiz: 1 };
  var BUILD = { single: choice, multi: choice, quiz: choice, scale: scale, ranking: ranking,
    number: number, text: text, qa: text };

  /* The socket opens first, before any of the page is built: on a slow venue link
     its handshake is the longest wait, and nothing below needs the server yet.
     (Its messages are handled only once this whole script has run.) boot.js has
     usually dialled it already, while this file was on its way. */
  var boot = window.livepollBoot || null;
  var ws = null;
  var live = false; // the server has answered on this socket
  var everLive = false;
  var attempt = 0;
  var retryTimer = 0;
  var probeTimer = 0;
  var ackTimer = 0;
  var firstState = false;
  connect();

  /* The attendee's language, as boot.js chose it: the one picked on this phone before,
     else the first of the phone's languages (its Accept-Language) the page speaks,
     else English. Its catalogue comes alongside the socket's handshake; server
     messages wait for it, so no English flashes by. */
  var lang = boot && LANGUAGES[boot.lang] ? boot.lang : "en";
  var words = null;
  var plurals = null;
  var early = []; // frames that arrived before the catalogue
  loadWords(lang);

  var el = {};
  ("deck conn wait waiting stuck retry summary summaryLink join joinLabel joinHint joinError " +
   "joinInput nick nickInput nickMsg nickSkip nickShow nickName nickEdit form progress timer " +
   "fieldset prompt hint error options qa qaEmpty items results resSum resList lbTitle board " +
   "bar status submit say langs lang").split(" ").forEach(
    function (id) { el[id] = document.getElementById(id); });

  function loadWords(code) {
    var started = boot && boot.words && boot.lang === code ? boot.words : null;
    if (boot) boot.words = null; // taken once; a retry or another language fetches anew
    (started || fetch(code + ".json", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    })).then(function (catalogue) {
      if (!catalogue || typeof catalogue !== "object") throw new Error("no catalogue");
      if (code !== lang) return; // the attendee picked another meanwhile
      words = catalogue;
      plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(code) : null;
      translated();
    }).catch(function () {
      setTimeout(function () { if (code === lang && !words) loadWords(code); }, 2000);
    });
  }
  // A message from the catalogue, its {names} filled in; plurals pick their form by {n}.
  function t(key, params) {
    var text = words ? words[key] : null;
    if (text && typeof text === "object") {
      var form = plurals ? plurals.select(params.n) : params.n === 1 ? "one" : "other";
      text = text[form] || text.other;
    }
    if (typeof text !== "string") return "";
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      return params && params[name] !== undefined ? String(params[name]) : "";
    });
  }

  function make(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  function empty(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function upper(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  function json(v) { return JSON.stringify(v === undefined ? null : v); }
  function plural(n, key) { return t(key, { n: n }); }
  function num(x) { return typeof x === "number" ? String(Math.round(x * 100) / 100) : "–"; }
  // As the server cleans text: no control or direction characters, single spaces.
  function clean(s) {
    return String(s).normalize("NFC")
      .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g, " ")
      .replace(/\s+/g, " ").trim();
  }
  /* For screen readers: what a move did, or what the chair did. Said once, then
     cleared, so that a reader who browses later does not find stale news there. */
  var sayTimer = 0;
  function say(words) {
    el.say.textContent = el.say.textContent === words ? words + "\u00a0" : words;
    clearTimeout(sayTimer);
    sayTimer = setTimeout(function () { el.say.textContent = ""; }, SAY_FOR);
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
  var problem = ""; // what is wrong with the answer: shown next to the question, GOV.UK style
  var announced = ""; // what the live region last said about the chair's moves
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
      label.appendChild(make("span", "", option)).lang = q.lang;
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
      need: t(multi ? "need_multi" : "need_single"),
      // Marks chosen options and, for multi, disables the rest once the limit is reached;
      // after a quiz closes, marks the right answers.
      paint: function () {
        var max = multi ? Number(q.max_choices) || all.length : 1;
        var full = multi && isOpen() && chosen().length >= max;
        var correct = q.type === "quiz" && Array.isArray(state.correct) ? state.correct : null;
        all.forEach(function (input, i) {
          var off = full && !input.checked;
          var mark = correct ? (correct.indexOf(i) >= 0 ? "right" : input.checked ? "wrong" : "")
            : input.checked ? "yours" : "";
          input.disabled = off;
          input.parentNode.className = "opt" + (input.checked ? " on" : "") + (off ? " off" : "") +
            (correct && mark ? " " + mark : "");
          // Said in words as well as colour once voting closes; the style sheet shows it.
          input.parentNode.setAttribute("data-mark", mark ? t("mark_" + mark) : "");
        });
        el.hint.textContent = !multi ? t("hint_single")
          : max >= all.length ? t("hint_all")
          : t(full ? "hint_up_to_full" : "hint_up_to", { max: max });
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
      ? t("hint_scale_ends", { low: low, low_label: ends[0], high: high, high_label: ends[1] })
      : t("hint_scale", { low: low, high: high });
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
      need: t("need_scale"),
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
    el.hint.textContent = t("hint_ranking");
    function valid(a) { return Array.isArray(a) && a.length === n ? a : first; }
    function draw() {
      empty(list);
      order.forEach(function (option, at) {
        var li = make("li", "rk");
        li.appendChild(make("span", "pos", at + 1));
        li.appendChild(make("span", "txt", q.options[option])).lang = q.lang;
        [-1, 1].forEach(function (step) {
          var button = make("button", "mv", step < 0 ? "▲" : "▼");
          button.type = "button";
          button.setAttribute("aria-label", t(step < 0 ? "move_up" : "move_down",
            { option: q.options[option] }));
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
      say(t("moved", { option: q.options[option], to: to + 1, n: n }));
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
    input.setAttribute("aria-describedby", hint + " error");
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
    var input = field("input", unit ? t("your_answer_unit", { unit: unit }) : t("your_answer"),
      "hint");
    var row = make("div", "row");
    input.type = "text";
    input.inputMode = low !== null && low >= 0 ? "decimal" : "text";
    input.autocomplete = "off";
    row.appendChild(input);
    if (unit) row.appendChild(make("span", "unit", unit)).setAttribute("aria-hidden", "true");
    el.options.appendChild(row);
    var after = unit ? " " + unit : "";
    var bounds = { low: low, high: high, unit: after };
    el.hint.textContent = t(low !== null && high !== null ? "hint_number_range"
      : low !== null ? "hint_number_min" : high !== null ? "hint_number_max" : "hint_number", bounds);
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); });
    return {
      val: function () { return input.value.trim(); },
      fmt: function (a) { return typeof a === "number" ? String(a) : ""; },
      read: function () { return input.value.trim() ? parseNumber(input.value) : null; },
      show: function (a) {
        var v = typeof a === "number" ? String(a) : "";
        if (input.value !== v) input.value = v;
      },
      need: t("need_number"),
      check: function () {
        if (!input.value.trim()) return "";
        var v = parseNumber(input.value);
        var wrong = isNaN(v) ? t("number_wrong")
          : low !== null && v < low ? t("number_low", bounds)
          : high !== null && v > high ? t("number_high", bounds) : "";
        if (wrong) input.setAttribute("aria-invalid", "true");
        return wrong;
      }
    };
  }

  // A text answer, or the question a Q&A attendee asks; both with a live count.
  function text(q) {
    var qa = q.type === "qa";
    var max = Number(q.max_length) || 120;
    var input = field(qa || max > 80 ? "textarea" : "input", t(qa ? "your_question" : "your_answer"),
      "hint count");
    var count = make("p", "count");
    count.id = "count";
    input.maxLength = max;
    if (input.tagName === "TEXTAREA") input.rows = 3;
    else input.type = "text";
    input.autocomplete = "off";
    el.options.appendChild(input);
    el.options.appendChild(count);
    el.hint.textContent = t(qa ? (q.moderated ? "hint_qa_moderated" : "hint_qa")
      : q.display === "wall" ? "hint_wall" : "hint_cloud");
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
      need: t(qa ? "need_question" : "need_text")
    };
  }

  /* ---- rendering ---- */

  function build(q) {
    el.prompt.textContent = String(q.prompt);
    el.prompt.lang = q.lang;
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
      li.appendChild(make("div", "qm")).appendChild(make("span", "tag wait", t("yours_waiting")));
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
      button.appendChild(document.createTextNode(t("upvote")));
      button.type = "button";
      button.setAttribute("data-item", String(item.id));
      button.setAttribute("aria-pressed", marks[i] ? "true" : "false");
      button.setAttribute("aria-describedby", words.id);
      button.disabled = !isOpen();
      meta.appendChild(button);
      meta.appendChild(make("span", "votes", plural(Number(item.votes) || 0, "votes")));
      if (answered) meta.appendChild(make("span", "tag", t("answered")));
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
    var rows = []; // [label, figure, share of the longest bar or null, an option's words?]
    var summary = "";
    var counts = Array.isArray(r.counts) ? r.counts : [];
    var most = Math.max.apply(null, counts.concat([1]));
    var total = counts.reduce(function (a, b) { return a + b; }, 0);
    if (CHOICE[q.type]) {
      var correct = Array.isArray(state.correct) ? state.correct : [];
      counts.forEach(function (c, i) {
        var share = q.type !== "multi" && total ? " · " + Math.round(100 * c / total) + "%" : "";
        rows.push([(correct.indexOf(i) >= 0 ? "✓ " : "") + q.options[i], c + share, c / most, 1]);
      });
      summary = plural(total, q.type === "multi" ? "choices" : "votes");
    } else if (q.type === "scale" && Array.isArray(r.values)) {
      r.values.forEach(function (v, i) { rows.push([v, counts[i], counts[i] / most]); });
      summary = !r.count ? plural(0, "answers") : t("summary_scale",
        { answers: plural(r.count, "answers"), mean: num(r.mean), median: num(r.median) });
    } else if (q.type === "number" && Array.isArray(r.bins)) {
      var unit = q.unit ? " " + q.unit : "";
      var top = Math.max.apply(null, r.bins.map(function (b) { return b.count; }).concat([1]));
      r.bins.forEach(function (b) { rows.push([num(b.from) + "–" + num(b.to), b.count, b.count / top]); });
      summary = !r.count ? plural(0, "answers") : t("summary_number",
        { answers: plural(r.count, "answers"), median: num(r.median), mean: num(r.mean), unit: unit });
    } else if (q.type === "ranking" && Array.isArray(r.order)) {
      var scores = Array.isArray(r.scores) ? r.scores : [];
      var best = Math.max.apply(null, scores.concat([1]));
      r.order.forEach(function (option, at) {
        rows.push([(at + 1) + ". " + q.options[option], plural(scores[option] || 0, "points"),
          (scores[option] || 0) / best, 1]);
      });
      summary = t("ranked");
    } else if (q.type === "text") {
      if (q.display === "wall") {
        (r.latest || []).forEach(function (answer) { rows.push([answer, "", null]); });
      } else {
        var words = r.words || [];
        var often = words.length ? words[0][1] : 1;
        words.forEach(function (w) { rows.push([w[0], w[1], w[1] / often]); });
      }
      summary = plural(r.count || 0, "answers");
    }
    el.resSum.textContent = summary;
    el.resList.className = "res" + (q.type === "scale" || q.type === "number" ? " short" : "");
    empty(el.resList);
    rows.forEach(function (row) {
      var li = make("li", "");
      var label = li.appendChild(make("span", "rl", row[0]));
      if (row[3]) label.lang = q.lang; // an option's words, not the attendee's
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
      el.board.appendChild(make("li", "", player.name + " · " + plural(player.points, "points")));
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
      text = t(!live ? "sending_offline" : diskTrouble ? "sending_slow" : "sending");
    } else if (correct) {
      var names = correct.map(function (i) { return q.options[i]; }).join(", ");
      var right = Array.isArray(saved) && correct.indexOf(saved[0]) >= 0;
      text = t(!saved ? "closed_right_answer" : right ? "right" : "wrong", { names: names });
      kind = saved ? (right ? "ok" : "err") : "";
    } else if (q && open && timeUp) {
      text = t(saved !== null ? "time_up_saved" : "time_up");
    } else if (q && !open) {
      text = t(qa ? "questions_closed" : saved !== null ? "closed_saved" : "closed");
    } else if (q && dirty()) {
      text = t(qa ? "not_sent_question" : saved !== null ? "changed_not_sent" : "not_sent");
    } else if (saved !== null) {
      text = t("saved");
      kind = "ok";
    }
    if (el.status.textContent !== text) el.status.textContent = text;
    el.status.className = "status" + (kind ? " " + kind : "");
    drawProblem(q);
    el.submit.textContent = t(qa ? (isOpen() ? "send_question" : "questions_closed_button")
      : q && open && timeUp ? "time_up_button"
      : q && !open ? "voting_closed_button" : saved !== null ? "update" : "submit");
    el.fieldset.disabled = el.submit.disabled = !isOpen();
    var conn = !live && (everLive || attempt > 0) ? t("reconnecting")
      : live && diskTrouble ? t("saving_delayed") : "";
    if (el.conn.textContent !== conn) el.conn.textContent = conn; // each change is said once
    drawItems();
    drawNick();
  }

  /* An answer that cannot be sent, as the GOV.UK Design System shows errors: a
     message next to the question with a hidden "Error:" for screen readers, tied to
     the group by aria-describedby and aria-invalid, and a summary at the top. */
  function drawProblem(q) {
    var text = q ? problem : "";
    if (el.error.getAttribute("data-text") !== text) {
      el.error.setAttribute("data-text", text);
      empty(el.error);
      if (text) {
        el.error.appendChild(make("span", "vh", t("error_prefix")));
        el.error.appendChild(document.createTextNode(text));
      }
      el.summaryLink.textContent = text;
    }
    el.error.hidden = el.summary.hidden = !text;
    el.fieldset.setAttribute("aria-describedby", text ? "hint error" : "hint");
    el.form.className = "form" + (text ? " has-error" : "");
    if (text) el.fieldset.setAttribute("aria-invalid", "true");
    else el.fieldset.removeAttribute("aria-invalid");
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
      el.timer.textContent = t("timer_up");
      if (!timeUp) {
        timeUp = true;
        render();
      }
      return;
    }
    el.timer.textContent = t("time_left",
      { time: Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) });
    clockTimer = setTimeout(clock, (ms % 1000) + 30);
  }

  /* ---- messages from the server ---- */

  // ``again``: the same state drawn anew in another language; nothing is remembered
  // from it a second time and the focus stays where the attendee put it.
  function onState(m, first, again) {
    if (!again) m.asSent = m.question;
    m.question = localise(m.asSent, m.language);
    state = m;
    refused = "";
    el.join.hidden = true;
    var title = typeof m.title === "string" ? m.title : "";
    el.deck.textContent = title;
    el.deck.lang = deckLanguage(m.language);
    var q = question();
    // The tab or window names the question, as a screen reader's first words.
    document.title = (q ? String(q.prompt) + " – " : "") + (title ? title + " – " : "") + "livepoll";
    // Where the focus was, before this state hides or disables anything.
    var active = document.activeElement;
    var focusLost = !again && (!active || active === document.body || el.form.contains(active) ||
      active === el.submit || el.items.contains(active) || el.join.contains(active) ||
      el.summary.contains(active) || el.wait.contains(active));
    el.wait.hidden = !!q;
    el.retry.hidden = el.stuck.hidden = true;
    el.form.hidden = el.submit.hidden = !q;
    results = m.results && typeof m.results === "object" ? m.results : null;
    items = Array.isArray(m.items) ? m.items : null;
    var timed = typeof m.time_left === "number" && m.status === "open";
    deadline = timed ? performance.now() + m.time_left * 1000 : 0;
    timeUp = timed && m.time_left <= 0;
    if (!q) {
      var before = shown;
      shown = "";
      ui = null;
      notice = null;
      problem = "";
      el.waiting.textContent = t(m.question ? "cannot_answer" : "waiting");
      announce(el.waiting.textContent);
      // Focus that was in the question just taken away would fall to the page itself.
      if (before && focusLost) el.waiting.focus();
      clock();
      drawResults();
      render();
      return;
    }
    var key = keyOf(q.id);
    var wasDirty = shown && dirty();
    // The reply to hello is the server's word on this question: it knows our
    // answer (your_answer; a Q&A's upvotes) or has none, whatever this phone remembers.
    if (again) { /* already taken in */ }
    else if (m.your_answer !== undefined && m.your_answer !== null) remember(key, m.your_answer);
    else if (first) remember(key, null);
    var identity = json([title, q]);
    if (identity !== shown) {
      // Focus that was in the old question (or nowhere) moves to the new prompt,
      // so keyboard and screen reader users land on it instead of the page top.
      build(q);
      shown = identity;
      notice = null;
      problem = "";
      asking = null;
      wasDirty = false;
      if (focusLost) el.prompt.focus();
    } else if (!again && !isOpen() && (el.form.contains(active) || active === el.submit)) {
      // Closing disables the controls, which drops their focus to the page itself.
      el.prompt.focus();
    }
    el.progress.textContent = t("progress", { i: Number(m.index) + 1, n: Number(m.count) });
    announce(el.progress.textContent + ". " + t(isOpen() ? "voting_open" : "closed"));
    if (!isOpen() || !wasDirty) ui.show(answerOf(key));
    if (q.type === "quiz") sendNick();
    clock();
    drawResults();
    render();
  }

  // Tells screen readers what the chair did (a new question, voting closed), once each.
  function announce(words) {
    if (words === announced) return;
    announced = words;
    say(words);
  }

  function deckLanguage(code) {
    return typeof code === "string" && /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(code) ? code : "en";
  }
  /* The question in the attendee's language when the deck gives it, else as the deck
     wrote it; ``lang`` says which, for screen readers (and for the page's own words). */
  function localise(q, language) {
    if (!q || typeof q !== "object") return q;
    var copy = {};
    Object.keys(q).forEach(function (key) { copy[key] = q[key]; });
    var given = q.translations && typeof q.translations === "object" ? q.translations[lang] : null;
    copy.lang = deckLanguage(language);
    if (given && typeof given.prompt === "string") {
      copy.prompt = given.prompt;
      if (Array.isArray(given.options) && Array.isArray(q.options) &&
          given.options.length === q.options.length) copy.options = given.options;
      copy.lang = lang;
    }
    return copy;
  }

  /* The catalogue has arrived (or another was chosen): the page's fixed words, its
     language and direction, then the frames that waited for it or a redraw. */
  function translated() {
    var root = document.documentElement;
    root.lang = lang;
    root.dir = RTL[lang] ? "rtl" : "ltr";
    var fixed = document.querySelectorAll("[data-t]");
    for (var i = 0; i < fixed.length; i++) fixed[i].textContent = t(fixed[i].getAttribute("data-t"));
    if (!el.lang.options.length) {
      Object.keys(LANGUAGES).forEach(function (code) {
        var option = make("option", "", LANGUAGES[code]);
        option.value = code;
        option.lang = code;
        el.lang.appendChild(option);
      });
    }
    el.lang.value = lang;
    el.langs.hidden = false;
    var waited = early;
    early = [];
    if (waited.length) {
      waited.forEach(handle);
    } else if (refused) {
      el.joinLabel.textContent = t(refused.indexOf("ticket") >= 0 ? "ticket_code" : "room_code");
      el.joinHint.textContent = t(refused.indexOf("ticket") >= 0 ? "join_ticket_needed"
        : "join_code_needed");
      joinError(/needed/.test(refused) ? "" : t("join_" + refused));
      render();
    } else if (state) {
      shown = "";
      announced = "";
      onState(state, false, true);
    } else {
      render();
    }
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
        notice = { text: t(q.moderated ? "question_sent_moderated" : "question_sent"), kind: "ok" };
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
    el.joinLabel.textContent = t(ticket ? "ticket_code" : "room_code");
    el.joinHint.textContent = t(ticket ? "join_ticket_needed" : "join_code_needed");
    joinError(/needed/.test(code) ? "" : t("join_" + code));
    el.join.hidden = false;
    el.wait.hidden = el.form.hidden = el.submit.hidden = el.qa.hidden = el.results.hidden = true;
    el.summary.hidden = true;
    drawNick();
    if (!el.join.contains(document.activeElement)) el.joinInput.focus();
  }

  // The join form's error, apart from its hint (GOV.UK's error message pattern).
  function joinError(text) {
    empty(el.joinError);
    if (text) {
      el.joinError.appendChild(make("span", "vh", t("error_prefix")));
      el.joinError.appendChild(document.createTextNode(text));
    }
    el.joinError.hidden = !text;
    el.join.className = "card" + (text ? " has-error" : "");
    el.joinInput.setAttribute("aria-describedby", text ? "joinHint joinError" : "joinHint");
    if (text) el.joinInput.setAttribute("aria-invalid", "true");
    else el.joinInput.removeAttribute("aria-invalid");
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
    // The server's own words are English: other languages say something general instead.
    var text = PLAIN[code] ? t("err_" + code)
      : message && lang === "en" ? upper(message) + "." : t("something_wrong");
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
    var here = false; // about the answer now in the form: shown next to the question
    if (asked) {
      asking = null;
      text = t("question_not_sent", { reason: text });
      here = true;
    }
    if (up >= 0) {
      ups.splice(up, 1);
      text = t("upvote_not_saved", { reason: text });
    }
    if (ours) {
      var key = pending.k;
      pending = null;
      save("pending", null);
      if (!q || keyOf(q.id) !== key) {
        text = t("earlier_not_saved", { reason: text });
      } else if (CLOSED[code]) {
        ui.show(answerOf(key)); // show what is really saved, not what was refused
      } else {
        here = true;
      }
    }
    if (here) {
      notice = null;
      problem = text;
      say(t("error_prefix") + text);
    } else {
      notice = { text: text, kind: "err" };
    }
    render();
  }

  /* ---- the connection ---- */


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
    var dialled = boot && boot.socket; // by boot.js: adopted once
    if (dialled) boot.socket = null;
    try {
      sock = dialled || new WebSocket(socketUrl());
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
    // What happened to it before this script ran, once the script has run (the
    // page's state and helpers below are not set up yet).
    if (dialled) setTimeout(function () {
      if (ws !== sock) return;
      if (boot.closed || sock.readyState > 1) return drop();
      if (sock.readyState === 1) sock.onopen();
      boot.frames.forEach(function (data) { if (ws === sock) receive(data); });
    }, 0);
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
    if (words) handle(m);
    else early.push(m); // shown once the catalogue is here, in order
  }

  function handle(m) {
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
      if (m.code === "room_removed") {
        // The room left the event: its address now answers with the event's rooms
        // page, which says so and lists the rooms that remain.
        location.reload();
        return;
      }
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
    var wrong = ui.check ? ui.check() : "";
    var answer = wrong ? null : ui.read();
    if (!wrong && answer === null) wrong = ui.need;
    if (wrong) {
      showProblem(wrong);
      return;
    }
    notice = null;
    problem = "";
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
    problem = "";
    render();
  }
  function showProblem(text) {
    notice = null;
    problem = text;
    render();
    el.summary.focus();
  }
  el.summaryLink.addEventListener("click", function (event) {
    event.preventDefault();
    var first = el.options.querySelector("input:not(:disabled), textarea, button:not(:disabled)");
    if (first) first.focus();
  });
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
    var ticket = refused.indexOf("ticket") >= 0;
    if (!value) {
      joinError(t(ticket ? "join_enter_ticket" : "join_enter_code"));
      el.joinInput.focus();
      return;
    }
    save(ticket ? "ticket" : "code", value);
    joinError("");
    el.joinHint.textContent = t("joining");
    if (!hello()) connect();
  });

  el.nick.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = clean(el.nickInput.value);
    if (!name) {
      el.nickMsg.textContent = t("nick_empty");
      return;
    }
    save("nick", name.slice(0, 24));
    el.nickMsg.textContent = t("nick_hint");
    nickEditing = nickSent = false;
    sendNick();
    drawNick();
    el.prompt.focus();
  });
  el.nickSkip.addEventListener("click", function () {
    save("nick", "");
    nickEditing = false;
    el.nickMsg.textContent = t("nick_hint");
    drawNick();
    el.prompt.focus();
  });
  el.nickEdit.addEventListener("click", function () {
    nickEditing = true;
    el.nickInput.value = load("nick") || "";
    drawNick();
    el.nickInput.focus();
  });

  el.lang.addEventListener("change", function () {
    if (!LANGUAGES[el.lang.value] || el.lang.value === lang) return;
    lang = el.lang.value;
    save("lang", lang); // remembered on this phone, over the phone's own languages
    loadWords(lang);
  });

  window.addEventListener("online", wake);
  window.addEventListener("pageshow", wake);
  document.addEventListener("visibilitychange", wake);
  window.addEventListener("offline", function () {
    if (ws) drop();
  });

  /* A server that stays silent (a captive portal, client isolation, a laptop asleep)
     would leave "Connecting…" on screen forever: after a few seconds say so, keep
     trying, and offer a button that tries at once. */
  var silentTimer = 0;
  function listen() {
    clearTimeout(silentTimer);
    silentTimer = setTimeout(function () {
      if (everLive || refused) return;
      if (words) el.stuck.textContent = t("stuck"); // else the page's own English
      el.stuck.hidden = el.retry.hidden = false;
    }, SILENT_AFTER);
  }
  el.retry.addEventListener("click", function () {
    el.stuck.hidden = el.retry.hidden = true;
    el.waiting.focus();
    attempt = 0;
    if (ws) drop(); // a socket open but silent, or still dialling: start afresh
    clearTimeout(retryTimer);
    retryTimer = 0;
    connect();
    listen();
  });
  el.wait.hidden = !!state || !!refused; // the page without its script says why instead
  listen();

  /* The sticky bar must not hide the control that has the keyboard focus (WCAG 2.4.11):
     scrolling keeps the bar's height clear, and a control that still lands behind it
     is scrolled above it. */
  function clearOfBar() {
    var sticky = window.getComputedStyle(el.bar).position === "sticky";
    document.documentElement.style.scrollPaddingBottom = sticky ? el.bar.offsetHeight + "px" : "";
    return sticky;
  }
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (!clearOfBar() || !target || el.bar.contains(target) || !target.getBoundingClientRect) return;
    var box = target.getBoundingClientRect();
    var top = el.bar.getBoundingClientRect().top;
    if (box.bottom + 8 > top) window.scrollBy(0, box.bottom + 8 - top);
  });
})();
