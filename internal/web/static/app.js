// civic dashboard: what every page needs. The pages work without it; it adds
// the phone menu toggle, and the login page deletes the crew view's offline
// copy.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");
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
