// civic dashboard: what every page needs. The pages work without it; it adds
// the phone menu toggle.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");
  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("navtoggle");
    var top = document.getElementById("top");
    if (!btn || !top) return;
    btn.addEventListener("click", function () {
      var open = top.classList.toggle("nav-open");
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
})();
