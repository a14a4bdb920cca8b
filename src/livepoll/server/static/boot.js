/* livepoll voting page: the first few hundred bytes of script.
 *
 * On a slow venue link the page's main script (app.js) takes a while to arrive,
 * and only then would the socket be dialled and the words of the page fetched:
 * each of those costs round trips of its own. This small file, loaded before the
 * styles, starts both at once; app.js adopts the socket and the catalogue. If
 * this file is missing, app.js does it all itself (in English).
 */
(function () {
  "use strict";
  var LANGUAGES = { en: 1, cy: 1, fr: 1, de: 1, es: 1, ar: 1 }; // as LANGUAGES in app.js
  var boot = { lang: "en", socket: null, opened: false, closed: false, frames: [], words: null };
  // The attendee's language: chosen on this phone before, else the phone's own
  // (its Accept-Language), else English.
  try {
    var chosen = JSON.parse(window.localStorage.getItem("livepoll.lang"));
    if (typeof chosen === "string" && LANGUAGES[chosen]) boot.lang = chosen;
    else {
      var wanted = navigator.languages && navigator.languages.length ? navigator.languages
        : [navigator.language || "en"];
      for (var i = 0; i < wanted.length; i++) {
        var code = String(wanted[i]).toLowerCase().split("-")[0];
        if (LANGUAGES[code]) { boot.lang = code; break; }
      }
    }
  } catch (e) { /* storage refused: the phone's own language */ }
  try {
    boot.words = window.fetch(boot.lang + ".json", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  } catch (e) { boot.words = null; }
  try {
    var sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      location.pathname.replace(/[^/]*$/, "") + "ws");
    sock.onopen = function () { boot.opened = true; };
    sock.onmessage = function (event) { boot.frames.push(event.data); };
    sock.onclose = function () { boot.closed = true; };
    boot.socket = sock;
  } catch (e) { /* app.js dials again, with its back-off */ }
  window.livepollBoot = boot;
})();
