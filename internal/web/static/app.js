// civic dashboard: what every page needs. The pages work without it; it adds
// the phone menu toggle, the login page deletes the crew view's offline
// copy, and the charts get the city's time zone.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");
  // civicChartTime sets a uPlot chart's options to show times in the city's
  // time zone (the body's data-tz), as the rest of the page does, whatever
  // the browser's own zone. It returns opts.
  window.civicChartTime = function (opts) {
    var tz = document.body && document.body.dataset.tz;
    if (tz && window.uPlot && uPlot.tzDate) {
      opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), tz); };
    }
    return opts;
  };
  document.addEventListener("DOMContentLoaded", function () {
    // The login page (after signing out, or when a session ended) deletes
    // the crew view's offline copy: the next person on this phone must not
    // see the last one's route (see crew-sw.js).
    if (document.body.classList.contains("login") && window.caches) {
      caches.delete("civic-crew-v1").catch(function () {});
    }
    var btn = document.getElementById("navtoggle");
    var top = document.getElementById("top");
    if (!btn || !top) return;
    btn.addEventListener("click", function () {
      var open = top.classList.toggle("nav-open");
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
})();
