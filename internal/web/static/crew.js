// civic crew view. A report (Collected or Skipped) goes into a queue in
// localStorage first, with an id made on the phone, and the page moves on
// to the next stop at once; the queue is sent to the API in order when the
// phone is online: now, when the "online" event fires, every 30 s while
// reports wait, and on the next load. The server applies a report once per
// client_id, so sending one twice (an answer lost on a bad connection) is
// harmless. A server without the API gets the page's own form endpoint.
(function () {
  "use strict";
  var root = document.getElementById("crew");
  if (!root) return;
  var KEY = "civic.crew.queue.v1";
  var MAX_PHOTO = 2500000; // characters of a data URL kept in the queue
  var COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]; // routeColours in plans.go
  var statusEl = document.getElementById("queue-status");
  var problems = [];

  function readQueue() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]") || []; } catch (e) { return []; }
  }
  function writeQueue(q) {
    try { localStorage.setItem(KEY, JSON.stringify(q)); return true; } catch (e) { return false; }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Pages served over plain HTTP have no randomUUID; getRandomValues works.
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function showQueue(sending) {
    var n = readQueue().length;
    root.dataset.queued = String(n);
    var text = "";
    if (n) {
      text = n + (n === 1 ? " report" : " reports") + " waiting to send" +
        (!navigator.onLine ? " · offline, they go when the phone is back online" : sending ? " · sending…" : " · will retry");
    }
    if (problems.length) text += (text ? " · " : "") + problems.join(" · ");
    statusEl.textContent = text;
    statusEl.hidden = !text;
    statusEl.classList.toggle("offline", n > 0 && !navigator.onLine);
  }

  // --- The page: the next stop, the lists, the small map ---------------

  function cssId(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

  function markDone(stopId, status, reason, note) {
    var card = root.querySelector('.nextstop[data-stop="' + cssId(stopId) + '"]');
    if (!card || card.dataset.done) return;
    var section = card.closest(".crewroute");
    card.dataset.done = status;
    card.hidden = true;
    var li = section.querySelector('.remaining li[data-stop="' + cssId(stopId) + '"]');
    if (li) {
      li.className = "st-" + status;
      var meta = li.querySelector(".meta");
      if (meta) meta.textContent = status + (reason ? " (" + reason.replace("_", " ") + ")" : "") + " · " + note;
      section.querySelector(".done").appendChild(li);
    }
    var n = section.querySelector(".n-done");
    if (n) n.textContent = String(section.querySelectorAll(".done li").length);
    var next = section.querySelector(".nextstop:not([data-done])");
    if (next) {
      next.hidden = false;
    } else {
      var all = section.querySelector(".alldone");
      if (all) all.hidden = false;
    }
    updateMap(section, stopId, status);
  }

  function setNote(stopId, note) {
    var li = root.querySelector('.done li[data-stop="' + cssId(stopId) + '"] .meta');
    if (li) li.textContent = li.textContent.replace(/ · [^·]*$/, " · " + note);
  }

  var maps = new Map(); // section -> {map, markers}
  function drawMap(section) {
    var box = section.querySelector(".crewmap");
    if (!box || !window.L) return;
    var pts;
    try { pts = JSON.parse(box.dataset.stops); } catch (e) { return; }
    if (!pts || !pts.length) return;
    var colour = COLOURS[(parseInt(section.dataset.seq, 10) - 1) % COLOURS.length] || COLOURS[0];
    var map = L.map(box, { zoomControl: false, attributionControl: !!root.dataset.tiles });
    if (root.dataset.tiles) {
      L.tileLayer(root.dataset.tiles, { maxZoom: 19, attribution: root.dataset.attribution || "" }).addTo(map);
    } else {
      box.classList.add("notiles");
    }
    var line = L.polyline(pts.map(function (p) { return [p[0], p[1]]; }), { color: colour, weight: 3, opacity: 0.7 }).addTo(map);
    var markers = {};
    pts.forEach(function (p) {
      var kind = p[3], done = p[4] && p[4] !== "pending";
      if (kind !== "bin") {
        L.marker([p[0], p[1]], { icon: L.divIcon({ className: "stop-marker k-" + kind, html: "<span>" + (kind === "disposal" ? "F" : "D") + "</span>", iconSize: [22, 22] }), keyboard: false }).addTo(map);
        return;
      }
      markers[p[5]] = L.circleMarker([p[0], p[1]], { radius: 6, color: "#fff", weight: 2, fillColor: done ? "#9aa3b2" : colour, fillOpacity: 1 }).addTo(map);
    });
    maps.set(section, { map: map, markers: markers, line: line, colour: colour });
    map.fitBounds(line.getBounds().pad(0.1));
    highlight(section);
  }

  function highlight(section) {
    var m = maps.get(section);
    if (!m) return;
    var next = section.querySelector(".nextstop:not([data-done])");
    Object.keys(m.markers).forEach(function (id) {
      var mk = m.markers[id];
      var isNext = next && next.dataset.stop === id;
      mk.setRadius(isNext ? 11 : 6);
      if (isNext) { mk.setStyle({ color: "#1d2330", weight: 3 }); mk.bringToFront(); } else mk.setStyle({ color: "#fff", weight: 2 });
    });
    if (next) m.map.setView([parseFloat(next.dataset.lat), parseFloat(next.dataset.lon)], Math.max(m.map.getZoom(), 15), { animate: false });
  }

  function updateMap(section, stopId, status) {
    var m = maps.get(section);
    if (!m) return;
    if (m.markers[stopId]) m.markers[stopId].setStyle({ fillColor: status === "collected" ? "#9aa3b2" : "#ef6c00" });
    highlight(section);
  }

  // --- Sending ------------------------------------------------------------

  function dataURLBlob(u) {
    var parts = u.split(","), type = (parts[0].match(/data:([^;]+)/) || [])[1] || "application/octet-stream";
    var bin = atob(parts[1]), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return new Blob([b], { type: type });
  }

  function fields(item) {
    var f = { client_id: item.id, status: item.status, at: item.at };
    if (item.skip_reason) f.skip_reason = item.skip_reason;
    if (item.fill_seen != null) f.fill_seen = item.fill_seen;
    return f;
  }

  // post sends item to url: JSON, or multipart when it has a photo or
  // when form is set (the page's endpoint reads forms).
  function post(url, item, form) {
    var f = fields(item), opts = { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (form || item.photo) {
      var fd = new FormData();
      Object.keys(f).forEach(function (k) { fd.append(k, String(f[k])); });
      if (item.photo) fd.append("photo", dataURLBlob(item.photo), "photo");
      opts.body = fd;
    } else {
      if (f.fill_seen != null) f.fill_seen = Number(f.fill_seen);
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(f);
    }
    return fetch(url, opts);
  }

  // send resolves true when the server took the report (or had it), false
  // when it refused it for good, and rejects when it should be sent again.
  function send(item) {
    var stop = encodeURIComponent(item.stop);
    var api = root.dataset.api.replace("{id}", stop), page = root.dataset.page.replace("{id}", stop);
    var via = "api";
    return post(api, item, false).then(function (r) {
      // No API on this server: the page's endpoint calls the same planner.
      if (r.status === 404 || r.status === 405) { via = "page"; return post(page, item, true); }
      return r;
    }).then(function (r) {
      if (r.ok) { root.dataset.via = via; return true; }
      if (r.status === 401) throw new Error("signed out: sign in again to send");
      if (r.status >= 500 || r.status === 429 || r.status === 408) throw new Error("HTTP " + r.status);
      return r.json().catch(function () { return null; }).then(function (j) {
        problems.push((item.name || item.stop) + ": not accepted (" + (j && j.error ? j.error.message : "HTTP " + r.status) + ")");
        return false;
      });
    });
  }

  var flushing = false, retry = null;
  function flush() {
    if (flushing) return;
    var q = readQueue();
    if (!q.length || !navigator.onLine) { showQueue(false); return; }
    flushing = true;
    showQueue(true);
    var item = q[0];
    send(item).then(function (ok) {
      writeQueue(readQueue().filter(function (x) { return x.id !== item.id; }));
      setNote(item.stop, ok ? "sent" : "not accepted");
      root.dataset.sent = String((parseInt(root.dataset.sent || "0", 10) || 0) + (ok ? 1 : 0));
      flushing = false;
      flush();
    }, function (e) {
      flushing = false;
      if (/signed out/.test(e.message) && problems.indexOf(e.message) < 0) problems.push(e.message);
      showQueue(false);
      clearTimeout(retry);
      retry = setTimeout(flush, 30000);
    });
  }

  function enqueue(item) {
    var q = readQueue();
    q.push(item);
    if (!writeQueue(q) && item.photo) {
      // The phone's storage is full: keep the report, not the photo.
      delete item.photo;
      problems.push("a photo was too big to keep offline and was left out");
      writeQueue(q);
    }
    markDone(item.stop, item.status, item.skip_reason, "waiting");
    flush();
  }

  root.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("report")) return;
    ev.preventDefault();
    var card = form.closest(".nextstop");
    var d = new FormData(form);
    var item = {
      id: uuid(), stop: card.dataset.stop, status: d.get("status"), at: new Date().toISOString(),
      name: (card.querySelector(".stopname") || {}).textContent || "",
    };
    if (item.status === "skipped") item.skip_reason = d.get("skip_reason");
    if (d.get("fill_set")) item.fill_seen = (parseInt(d.get("fill_pct"), 10) || 0) / 100;
    var photo = form.querySelector('input[type="file"]');
    var file = photo && photo.files && photo.files[0];
    if (!file) { enqueue(item); return; }
    var reader = new FileReader();
    reader.onload = function () {
      if (typeof reader.result === "string" && reader.result.length <= MAX_PHOTO) item.photo = reader.result;
      else problems.push("the photo was too big and was left out");
      enqueue(item);
    };
    reader.onerror = function () { enqueue(item); };
    reader.readAsDataURL(file);
  });

  // The fill slider shows its value and, once moved, is sent.
  root.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.name !== "fill_pct") return;
    var label = t.closest("label"), out = label && label.querySelector("output");
    if (out) out.textContent = t.value + " %";
    var box = t.form && t.form.querySelector('input[name="fill_set"]');
    if (box) box.checked = true;
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { showQueue(false); });

  // Offline: a service worker (crew-sw.js) keeps this page and its files,
  // so that it opens without a connection; the kept copy it shows then is
  // marked (data-copy="kept") and says when it was loaded.
  var copyNote = document.getElementById("offline-copy");
  if (copyNote && root.dataset.copy === "kept") copyNote.hidden = false;
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.addEventListener("message", function (ev) {
      var d = ev.data || {};
      if (typeof d.kept === "number") root.dataset.offline = d.kept === d.of ? "ready" : "partial";
    });
    navigator.serviceWorker.register("/crew-sw.js", { scope: "/crew" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var page = new URL(location.href);
      page.searchParams.delete("done");
      page.searchParams.delete("name");
      page.hash = "";
      var urls = [page.href];
      document.querySelectorAll('script[src], link[rel="stylesheet"][href]').forEach(function (el) { urls.push(el.src || el.href); });
      if (reg.active) reg.active.postMessage({ keep: urls });
    }).catch(function () { root.dataset.offline = "unavailable"; });
  }

  document.querySelectorAll(".crewroute").forEach(drawMap);
  // Reports queued before this load: their stops are done here too.
  readQueue().forEach(function (item) { markDone(item.stop, item.status, item.skip_reason, "waiting"); });
  root.dataset.ready = "true";
  flush();

  window.civicCrew = { queue: readQueue, flush: flush, maps: maps };
})();
