// civic plans list and route sheet: a busy state while a plan is made
// (planning takes seconds to a minute and the form posts normally), and
// the sheet's print button.
(function () {
  "use strict";
  var form = document.getElementById("makeplan");
  if (form) {
    form.addEventListener("submit", function () {
      var go = document.getElementById("makeplan-go");
      var busy = document.getElementById("makeplan-busy");
      // Disable after the submit is on its way, so the form still posts.
      setTimeout(function () { if (go) go.disabled = true; }, 0);
      if (busy) busy.hidden = false;
      form.setAttribute("aria-busy", "true");
    });
  }
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
