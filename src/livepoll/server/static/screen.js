/* livepoll AV screen: the room's view of the session, live and read-only.
 *
 * Opened at /screen?token=… on the AV desk's machine. The token is moved out of
 * the address bar at once (into this tab's sessionStorage, so a reload still
 * works) and presented as the first frame on /screen-ws; the server then pushes
 * the screen state whenever it changes. Nothing here sends anything else: the
 * channel cannot control the session. Attendees' text is only ever set with
 * textContent, never parsed as markup. After the server goes away (a restart)
 * the page keeps the last state on screen and reconnects with backoff.
 */
(function () {
  "use strict";
  var BACKOFF_FIRST = 500;
  var BACKOFF_MAX = 8000;
  var WAIT_AFTER_REFUSAL = 30000;
  var KEY = "livepoll.screenToken";
  var SVG = "http://www.w3.org/2000/svg";
  var TWO_COLUMNS = 9; // more result rows than this go in two columns
  var PROMPT_SHARE = 0.3; // of the screen's height the prompt may take before it shrinks

  function $(id) { return document.getElementById(id); }
  var el = {};
  ["deck", "progress", "badge", "timer", "notice", "prompt", "body", "results", "rows", "words", "items",
    "summary", "board", "players", "join", "qr", "url", "code", "count", "conn"].forEach(
    function (id) { el[id] = $(id); });

  var token = null;
  try {
    var given = new URLSearchParams(location.search).get("token");
    if (given) {
      sessionStorage.setItem(KEY, given);
      history.replaceState(null, "", location.pathname);
    }
    token = given || sessionStorage.getItem(KEY);
  } catch (e) {
    token = new URLSearchParams(location.search).get("token");
  }

  var ws = null;
  var attempt = 0;
  var retryTimer = 0;
  var everLive = false;
  var shownQr = null;

  function text(node, value) {
    node.textContent = value === null || value === undefined ? "" : String(value);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function make(tag, className, value) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (value !== undefined) text(node, value);
    return node;
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString("en", { maximumFractionDigits: 2 });
  }

  function share(count, total) {
    return total > 0 ? Math.round((100 * count) / total) + "%" : "0%";
  }

  function letter(index) { return String.fromCharCode(65 + index); }

  // One result row: a key (A, B, … or a scale point), the label, a figure and a bar.
  function row(key, label, value, most, figure, right) {
    var item = make("li", "row" + (right ? " right" : ""));
    item.appendChild(make("span", "key", key));
    item.appendChild(make("span", "label", label));
    item.appendChild(make("span", "figure", figure));
    var track = make("span", "track");
    var fill = make("span", "fill");
    fill.style.width = (most > 0 ? Math.max(0, Math.min(1, value / most)) * 100 : 0) + "%";
    track.appendChild(fill);
    item.appendChild(track);
    el.rows.appendChild(item);
  }

  function choices(s, q, results) {
    var counts = results ? results.counts || [] : null;
    var right = s.correct || [];
    var total = s.respondents;
    q.options.forEach(function (option, i) {
      if (!counts) return row(letter(i), option, 0, 0, "", false);
      var n = counts[i] || 0;
      row(letter(i), option, n, total, n + " · " + share(n, total), right.indexOf(i) >= 0);
    });
    if (results && q.type === "quiz" && s.correct) {
      text(el.summary, (results.right || 0) + " of " + total + " got it right");
    } else if (results && q.type === "multi" && q.max_choices > 1) {
      text(el.summary, "Up to " + q.max_choices + " choices each, so shares add up past 100%");
    }
  }

  function scale(q, results) {
    var values = results.values || [];
    var counts = results.counts || [];
    var labels = q.labels || ["", ""];
    var total = results.count || 0;
    values.forEach(function (value, i) {
      var label = i === 0 ? labels[0] : i === values.length - 1 ? labels[1] : "";
      row(String(value), label || "", counts[i] || 0, total,
        (counts[i] || 0) + " · " + share(counts[i] || 0, total), false);
    });
    text(el.summary, "Mean " + number(results.mean) + " · median " + number(results.median));
  }

  function numbers(q, results) {
    var unit = q.unit || "";
    var total = results.count || 0;
    (results.bins || []).forEach(function (bin) {
      row("", number(bin.from) + "–" + number(bin.to) + unit, bin.count, total,
        bin.count + " · " + share(bin.count, total), false);
    });
    text(el.summary, total ? "Median " + number(results.median) + unit + " · mean " +
      number(results.mean) + unit + " · range " + number(results.min) + "–" +
      number(results.max) + unit : "No answers yet.");
  }

  function ranking(s, q, results) {
    var scores = results.scores || [];
    var firsts = results.firsts || [];
    var most = s.respondents * Math.max(q.options.length - 1, 1);
    (results.order || []).forEach(function (i, place) {
      if (i < 0 || i >= q.options.length) return;
      row(String(place + 1), q.options[i], scores[i] || 0, most,
        (scores[i] || 0) + " pts · " + (firsts[i] || 0) + " first", false);
    });
    text(el.summary, "Points: each ranking gives n−1 to its first choice … 0 to its last");
  }

  function words(q, results) {
    text(el.summary, (results.count || 0) + " answers" +
      (results.masked ? " · " + results.masked + " blocked words left out" : ""));
    if (q.display === "wall") {
      (results.latest || []).forEach(function (answer) {
        el.items.appendChild(make("li", "", answer));
      });
      el.items.className = "items wall";
      el.items.hidden = false;
      return;
    }
    var list = results.words || [];
    var most = list.length ? list[0][1] : 1;
    list.forEach(function (pair) {
      var word = make("li", "", pair[0]);
      word.style.fontSize = (3 + 5 * (pair[1] / most)).toFixed(2) + "vh";
      word.appendChild(make("span", "n", pair[1]));
      el.words.appendChild(word);
    });
    el.words.hidden = false;
  }

  function items(s) {
    var list = s.items || []; // the server sends the top few (SCREEN_ITEMS)
    list.forEach(function (entry) {
      var item = make("li", entry.state === "answered" ? "answered" : "");
      item.appendChild(make("span", "votes", "▲ " + entry.votes));
      item.appendChild(make("span", "text", entry.text));
      el.items.appendChild(item);
    });
    el.items.className = "items";
    el.items.hidden = false;
    if (!list.length) text(el.summary, "No questions yet: ask from your phone.");
  }

  function leaderboard(board) {
    clear(el.players);
    el.board.hidden = !board || !board.length;
    if (el.board.hidden) return;
    var rank = 0;
    board.forEach(function (player, i) {
      if (i === 0 || player.points !== board[i - 1].points) rank = i + 1;
      var item = make("li");
      item.appendChild(make("span", "rank", rank));
      var name = make("span", "name", player.name);
      if (player.gained) name.appendChild(make("span", "gain", "  +" + player.gained));
      item.appendChild(name);
      item.appendChild(make("span", "points", player.points));
      el.players.appendChild(item);
    });
  }

  function qr(code) {
    if (!code || code.path === shownQr) return;
    shownQr = code.path;
    clear(el.qr);
    el.qr.setAttribute("viewBox", "0 0 " + code.size + " " + code.size);
    el.qr.setAttribute("shape-rendering", "crispEdges");
    var light = document.createElementNS(SVG, "rect");
    light.setAttribute("width", code.size);
    light.setAttribute("height", code.size);
    light.setAttribute("fill", "#ffffff");
    var dark = document.createElementNS(SVG, "path");
    dark.setAttribute("d", code.path);
    dark.setAttribute("fill", "#000000");
    el.qr.appendChild(light);
    el.qr.appendChild(dark);
  }

  function render(s) {
    var q = s.question;
    text(el.notice, "");
    text(el.deck, s.title);
    text(el.progress, "Question " + (s.index + 1) + " of " + s.count);
    text(el.badge, s.status_words.charAt(0).toUpperCase() + s.status_words.slice(1));
    text(el.timer, s.time_left === null ? "" : Math.ceil(s.time_left) + " s left");
    el.prompt.hidden = false;
    text(el.prompt, q.prompt);
    document.title = q.prompt + " – livepoll screen";

    clear(el.rows); clear(el.words); clear(el.items);
    el.words.hidden = el.items.hidden = true;
    text(el.summary, "");
    var results = s.results;
    if (q.type === "single" || q.type === "multi" || q.type === "quiz") choices(s, q, results);
    else if (q.type === "qa") items(s);
    else if (!results) text(el.summary, s.status === "pending" ? "" : "Results appear here when the chair shows them.");
    else if (q.type === "scale") scale(q, results);
    else if (q.type === "number") numbers(q, results);
    else if (q.type === "ranking") ranking(s, q, results);
    else if (q.type === "text") words(q, results);
    var rows = el.rows.childNodes.length;
    el.rows.className = rows > TWO_COLUMNS ? "rows two" : "rows";
    el.rows.style.gridTemplateRows = rows > TWO_COLUMNS ? "repeat(" + Math.ceil(rows / 2) + ", auto)" : "";
    leaderboard(s.leaderboard);
    el.body.hidden = false;

    var join = s.join;
    el.join.hidden = false;
    text(el.url, join.url.split("?")[0]);
    el.code.hidden = !join.room_code;
    text(el.code, join.room_code ? "Room code: " + join.room_code : "");
    qr(s.qr);
    fit();
    var answers = q.type === "qa" ? "" : " · " + s.respondents + " answered";
    text(el.count, s.phones + (s.phones === 1 ? " phone" : " phones") + " connected" + answers);
  }

  // Type as large as fits: the prompt first (up to a share of the screen), then the
  // results in what is left, shrinking in small steps rather than running off the screen.
  function shrink(node, from, least, fits) {
    var size = from;
    node.style.fontSize = size + "vh";
    while (size > least && !fits()) {
      size -= 0.25;
      node.style.fontSize = size + "vh";
    }
  }

  function fit() {
    shrink(el.prompt, 6.5, 2.5, function () {
      return el.prompt.offsetHeight <= window.innerHeight * PROMPT_SHARE;
    });
    shrink(el.rows, 4, 1.25, function () {
      return el.results.scrollHeight <= el.results.clientHeight;
    });
  }

  window.addEventListener("resize", function () { if (!el.body.hidden) fit(); });

  function receive(data) {
    var frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    if (frame.type === "screen_state") {
      everLive = true;
      attempt = 0;
      text(el.conn, "");
      render(frame);
    }
  }

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      location.pathname.replace(/[^/]*$/, "") + "screen-ws";
  }

  function connect() {
    retryTimer = 0;
    var sock;
    try {
      sock = new WebSocket(socketUrl());
    } catch (e) {
      return retry(0);
    }
    ws = sock;
    sock.onopen = function () {
      sock.send(JSON.stringify({ type: "screen", token: token }));
    };
    sock.onmessage = function (event) { if (ws === sock) receive(event.data); };
    sock.onclose = function (event) {
      if (ws !== sock) return;
      ws = null;
      if (event.code === 1008 && event.reason === "wrong screen token") {
        text(el.notice, "This screen link is not valid for this server. Open the screen URL " +
          "that livepoll printed when it started.");
        el.prompt.hidden = el.body.hidden = el.join.hidden = true;
        text(el.conn, "");
        return;
      }
      retry(event.code === 1008 ? WAIT_AFTER_REFUSAL : 0);
    };
  }

  // Exponential backoff with jitter; the last state stays on screen meanwhile.
  function retry(wait) {
    if (retryTimer) return;
    text(el.conn, everLive ? "Reconnecting…" : "Connecting…");
    var cap = Math.min(BACKOFF_MAX, BACKOFF_FIRST * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = setTimeout(connect, wait || cap / 2 + Math.random() * cap / 2);
  }

  if (!token) {
    text(el.notice, "This page needs the screen URL that livepoll printed, with its token " +
      "(…/screen?token=…).");
  } else {
    connect();
  }
})();
