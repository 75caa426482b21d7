// The alerts page refreshes its table when the server reports an alert
// change over Server-Sent Events. It waits while someone types a note or
// has alerts selected for a bulk acknowledgement, so a refresh never wipes
// either: it checks before fetching and again before replacing the table.
(function () {
  "use strict";
  var live = document.getElementById("alert-live");
  if (!live || !window.EventSource) return;
  var timer = null;

  function busy() {
    var a = document.activeElement;
    if (a && a.closest && a.closest("#alert-table form") && a.value) return true;
    return !!document.querySelector("#alert-table input[name=id]:checked");
  }

  function later() {
    timer = setTimeout(refresh, 2000);
  }

  function refresh() {
    timer = null;
    if (busy()) {
      later();
      return;
    }
    fetch(location.pathname + location.search, { credentials: "same-origin" }).then(function (res) {
      return res.ok ? res.text() : null;
    }).then(function (html) {
      if (!html) return;
      if (busy()) {
        if (!timer) later();
        return;
      }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("alert-table"), old = document.getElementById("alert-table");
      if (!fresh || !old) return;
      old.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
    });
  }

  var es = new EventSource(live.dataset.events);
  es.addEventListener("alert", function () {
    if (!timer) timer = setTimeout(refresh, 300);
  });
})();
