// civic plans list and route sheet: a busy state while a plan is made
// (planning takes seconds to a minute and the form posts normally), and
// the sheet's print button.
(function () {
  "use strict";
  var form = document.getElementById("makeplan");
  var STAGES = { start: "Starting…", decide: "Choosing the bins that need emptying…", matrix: "Computing travel times…",
    solve: "Building the routes…", assemble: "Putting the plan together…" };

  // With streams, the plan is made over fetch and the server reports its
  // progress as Server-Sent Events; otherwise the form posts as it is.
  function streamPlan(go, busy) {
    var stage = document.getElementById("makeplan-stage");
    var bar = document.getElementById("makeplan-progress");
    var errorBox = document.getElementById("makeplan-error");
    var failed = function (msg) {
      busy.hidden = true;
      go.disabled = false;
      form.removeAttribute("aria-busy");
      errorBox.textContent = msg;
      errorBox.hidden = false;
    };
    var handle = function (ev, data) {
      var d = {};
      try { d = JSON.parse(data); } catch (e) { return; }
      if (ev === "progress") {
        if (stage) stage.textContent = STAGES[d.stage] || d.stage;
        if (bar) { bar.hidden = false; bar.value = Math.round(d.done * 100); }
        form.dataset.progress = String(d.done);
      } else if (ev === "done") {
        form.dataset.done = d.url;
        window.location.assign(d.url);
      } else if (ev === "error") {
        failed(d.message || "Planning failed.");
      }
    };
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "text/event-stream", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
    }).then(function (res) {
      if (!res.ok || !res.body || (res.headers.get("Content-Type") || "").indexOf("text/event-stream") !== 0) {
        return res.text().then(function () { failed("Planning failed (HTTP " + res.status + ")."); });
      }
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
      var pump = function () {
        return reader.read().then(function (r) {
          if (r.done) return;
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var block = buf.slice(0, i), ev = "message", data = "";
            buf = buf.slice(i + 2);
            block.split("\n").forEach(function (line) {
              if (line.indexOf("event: ") === 0) ev = line.slice(7);
              else if (line.indexOf("data: ") === 0) data += line.slice(6);
            });
            handle(ev, data);
          }
          return pump();
        });
      };
      return pump();
    }).catch(function (e) { failed("Planning failed: " + e.message); });
  }

  if (form) {
    form.addEventListener("submit", function (ev) {
      var go = document.getElementById("makeplan-go");
      var busy = document.getElementById("makeplan-busy");
      var errorBox = document.getElementById("makeplan-error");
      if (errorBox) errorBox.hidden = true;
      if (busy) busy.hidden = false;
      form.setAttribute("aria-busy", "true");
      if (window.fetch && window.ReadableStream && window.TextDecoder && go && busy) {
        ev.preventDefault();
        go.disabled = true;
        streamPlan(go, busy);
        return;
      }
      // Disable after the submit is on its way, so the form still posts.
      setTimeout(function () { if (go) go.disabled = true; }, 0);
    });
  }
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
