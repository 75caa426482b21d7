// The alerts page refreshes its table when the server reports an alert
// change over Server-Sent Events. It waits while someone types a note, so
// a refresh never wipes it.
(function () {
  "use strict";
  var live = document.getElementById("alert-live");
  if (!live || !window.EventSource) return;
  var timer = null;

  function busy() {
    var a = document.activeElement;
    return a && a.closest && a.closest("#alert-table form") && a.value;
  }

  function refresh() {
    timer = null;
    if (busy()) {
      timer = setTimeout(refresh, 2000);
      return;
    }
    var url = location.pathname + location.search;
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#alert-table", select: "#alert-table", swap: "outerHTML" });
      return;
    }
    fetch(url, { credentials: "same-origin" }).then(function (res) {
      return res.ok ? res.text() : null;
    }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("alert-table"), old = document.getElementById("alert-table");
      if (fresh && old) old.replaceWith(fresh);
    });
  }

  var es = new EventSource(live.dataset.events);
  es.addEventListener("alert", function () {
    if (!timer) timer = setTimeout(refresh, 300);
  });
})();
