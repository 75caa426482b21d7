// civic operations map: every bin as a marker coloured AND shaped by fill,
// labelled with its fill percent, clustered at low zoom, filtered like the
// side list, and updated live from Server-Sent Events.
(function () {
  "use strict";

  // A bin row of /map/bins.json and of /events (see encodeRow in
  // internal/web/snapshot.go):
  // [id, lat, lon, fill % | null, stream, zone, status, flags, last reading Unix s]
  var ID = 0, LAT = 1, LON = 2, FILL = 3, STREAM = 4, ZONE = 5, STATUS = 6, FLAGS = 7, TIME = 8;
  var FLAG_NAMES = [[1, "full"], [2, "fire"], [4, "door open"], [8, "tilted"], [16, "low battery"]];
  var OFFLINE_S = 24 * 3600; // offlineAfter in snapshot.go

  // level mirrors level() in pages.go: the colour and shape class.
  function level(fill) {
    if (fill === null || fill === undefined) return -1;
    if (fill < 50) return 0;
    if (fill < 75) return 1;
    if (fill < 90) return 2;
    if (fill < 100) return 3;
    return 4;
  }

  function offline(row) {
    return !row[TIME] || Date.now() / 1000 - row[TIME] > OFFLINE_S;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var el = document.getElementById("map");
  var status = document.getElementById("map-status");
  var form = document.getElementById("filters");
  if (!el || !window.L) return;

  function say(text) {
    if (status) status.textContent = text;
  }

  // markercluster needs a maxZoom even when there is no tile layer.
  var map = L.map(el, { zoomControl: true, worldCopyJump: true, maxZoom: 19 });
  map.setView([0, 0], 2);
  var layers = {};
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  } else {
    el.classList.add("notiles");
  }

  // clusterIcon colours a cluster by the share of its bins that are urgent
  // (90 % full or more), not by its fullest bin: a city-wide view then
  // shows where the work is, not a single red dot everywhere.
  function clusterIcon(c) {
    var kids = c.getAllChildMarkers();
    var urgent = 0, alerts = 0;
    for (var i = 0; i < kids.length; i++) {
      if (kids[i].options.lvl >= 3) urgent++;
      if (kids[i].options.alert) alerts++;
    }
    var n = c.getChildCount();
    var share = kids.length ? urgent / kids.length : 0;
    var lv = urgent === 0 ? 0 : share < 0.1 ? 1 : share < 0.25 ? 2 : share < 0.5 ? 3 : 4;
    var size = n < 100 ? 34 : n < 1000 ? 42 : 50;
    var title = urgent + " of " + n + " bins 90 % full or more" + (alerts ? ", " + alerts + " with alerts" : "");
    return L.divIcon({
      className: "bin-cluster lvl-" + lv,
      html: "<span title=\"" + title + "\" data-urgent=\"" + urgent + "\" data-share=\"" + Math.round(share * 100) + "\">" + n +
        (alerts ? "<i>!</i>" : "") + "</span>",
      iconSize: [size, size],
    });
  }

  // afterChunks runs once markercluster has added every marker of a
  // snapshot: with 10,000 bins that takes a few animation frames.
  var afterChunks = null;
  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    chunkInterval: 150, // ms of work per frame while placing markers
    chunkDelay: 5,
    chunkProgress: function (processed, total) {
      if (processed < total) {
        say("Placing bins… " + Math.round(100 * processed / total) + " %");
      } else if (afterChunks) {
        var f = afterChunks;
        afterChunks = null;
        f();
      }
    },
    showCoverageOnHover: false,
    // Close in, cluster only markers that would overlap: a recycling bin
    // standing beside a trash station stays a "2" that spiderfies on click.
    maxClusterRadius: function (z) { return z >= 17 ? 14 : 45; },
    iconCreateFunction: clusterIcon,
  });
  map.addLayer(cluster);
  layers["Bins"] = cluster;

  var bins = new Map(); // id -> {row, marker, shown}
  var fitted = false;

  // planned: bins still to collect in today's plan (from /map/plan.json),
  // outlined on the map.
  var planned = {};
  function isPlanned(id) {
    var p = planned[id];
    return !!p && p.status !== "collected" && p.status !== "skipped";
  }

  function icon(row) {
    var lv = level(row[FILL]);
    var alert = row[FLAGS] !== 0 || offline(row);
    var label = row[FILL] === null ? "?" : String(row[FILL]);
    return L.divIcon({
      className: "bin-marker lvl-" + lv + (alert ? " alert" : "") + (isPlanned(row[ID]) ? " planned" : ""),
      html: '<span data-bin="' + esc(row[ID]) + '" data-fill="' + label + '" data-level="' + lv + '">' + label + "</span>",
      iconSize: [30, 30],
      iconAnchor: [15, 15],
    });
  }

  function popup(row) {
    var flags = [];
    FLAG_NAMES.forEach(function (f) {
      if (row[FLAGS] & f[0]) flags.push(f[1]);
    });
    if (offline(row)) flags.push("offline");
    var seen = row[TIME] ? new Date(row[TIME] * 1000).toLocaleString() : "never";
    return "<strong>" + esc(row[ID]) + "</strong><br>" +
      "Fill: " + (row[FILL] === null ? "unknown" : row[FILL] + " %") + "<br>" +
      esc(row[STREAM]) + (row[ZONE] ? " · " + esc(row[ZONE]) : "") + " · " + esc(row[STATUS]) + "<br>" +
      "Last reading: " + esc(seen) +
      (planned[row[ID]] ? "<br>Today's plan: route " + planned[row[ID]].route + " · " + esc(planned[row[ID]].status) : "") +
      (flags.length ? '<br><span class="tags">' + flags.map(function (f) { return '<span class="tag">' + esc(f) + "</span>"; }).join("") + "</span>" : "") +
      '<br><a href="/bins/' + encodeURIComponent(row[ID]) + '">Open bin page →</a>';
  }

  function markerFor(row) {
    var m = L.marker([row[LAT], row[LON]], { icon: icon(row), keyboard: false, title: row[ID] + " " + (row[FILL] === null ? "?" : row[FILL] + "%") });
    m.options.lvl = level(row[FILL]);
    m.options.alert = row[FLAGS] !== 0 || offline(row);
    m.bindPopup(function () { return popup(bins.get(row[ID]).row); });
    return m;
  }

  // The filter, read from the same form that filters the side list; the
  // same rules as mapFilter.matches in mappage.go.
  function currentFilter() {
    var f = { stream: "", zone: "", min: 0, max: 100, alerts: false };
    if (!form) return f;
    var d = new FormData(form);
    f.stream = d.get("stream") || "";
    f.zone = d.get("zone") || "";
    var min = parseInt(d.get("min"), 10), max = parseInt(d.get("max"), 10);
    if (!isNaN(min)) f.min = Math.max(0, Math.min(100, min));
    if (!isNaN(max)) f.max = Math.max(0, Math.min(100, max));
    if (f.max < f.min) { var t = f.min; f.min = f.max; f.max = t; }
    f.alerts = d.get("alerts") !== null;
    return f;
  }
  var filter = currentFilter();

  function matches(row) {
    if (filter.stream && row[STREAM] !== filter.stream) return false;
    if (filter.zone && row[ZONE] !== filter.zone) return false;
    if (row[FILL] === null) {
      if (filter.min > 0 || filter.max < 100) return false;
    } else if (row[FILL] < filter.min || row[FILL] > filter.max) {
      return false;
    }
    if (filter.alerts && row[FLAGS] === 0 && !offline(row)) return false;
    return true;
  }

  function countShown() {
    var n = 0;
    bins.forEach(function (b) { if (b.shown) n++; });
    return n;
  }

  function showStatus(extra) {
    var n = countShown();
    el.dataset.count = String(n);
    say(n + " of " + bins.size + " bins on the map" + (extra ? " · " + extra : ""));
  }

  // setAll replaces every marker with the snapshot's rows and calls done
  // when they are all on the map.
  function setAll(rows, done) {
    cluster.clearLayers();
    bins.clear();
    var shown = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var b = { row: row, marker: markerFor(row), shown: matches(row) };
      bins.set(row[ID], b);
      if (b.shown) shown.push(b.marker);
    }
    afterChunks = done;
    cluster.addLayers(shown);
    if (!shown.length && afterChunks) {
      afterChunks = null;
      done();
    }
    if (!fitted && rows.length) {
      fitted = true;
      var bounds = L.latLngBounds(rows.map(function (r) { return [r[LAT], r[LON]]; }));
      map.fitBounds(bounds.pad(0.05));
    }
  }

  function refilter() {
    filter = currentFilter();
    var add = [], remove = [];
    bins.forEach(function (b) {
      var want = matches(b.row);
      if (want && !b.shown) add.push(b.marker);
      if (!want && b.shown) remove.push(b.marker);
      b.shown = want;
    });
    if (remove.length) cluster.removeLayers(remove);
    if (add.length) cluster.addLayers(add);
    showStatus(live ? "live" : "");
  }

  // apply merges changed rows; unknown bins mean the set changed.
  function apply(rows) {
    var add = [], remove = [], refresh = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var b = bins.get(row[ID]);
      if (!b) { load(); return; }
      b.row = row;
      b.marker.options.lvl = level(row[FILL]);
      b.marker.options.alert = row[FLAGS] !== 0 || offline(row);
      b.marker.setIcon(icon(row));
      b.marker.options.title = row[ID] + " " + (row[FILL] === null ? "?" : row[FILL] + "%");
      var want = matches(row);
      if (want && !b.shown) add.push(b.marker);
      else if (!want && b.shown) remove.push(b.marker);
      else if (want) refresh.push(b.marker);
      b.shown = want;
    }
    if (remove.length) cluster.removeLayers(remove);
    if (add.length) cluster.addLayers(add);
    if (refresh.length) cluster.refreshClusters(refresh);
    el.dataset.updates = String((parseInt(el.dataset.updates || "0", 10) || 0) + rows.length);
    refreshList();
  }

  // The side list is server-rendered; refresh it through htmx after live
  // changes, at most every few seconds.
  var listTimer = null;
  function refreshList() {
    if (listTimer || !form || !window.htmx) return;
    listTimer = setTimeout(function () {
      listTimer = null;
      window.htmx.trigger(form, "refresh");
    }, 3000);
  }

  // Snapshot + events: the stream is opened first and events are queued
  // until the snapshot is in, then those newer than it are applied.
  var ready = false, queue = [], version = 0, loadToken = 0, live = false;

  function load() {
    var token = ++loadToken;
    ready = false;
    el.dataset.ready = "false";
    return fetch(el.dataset.bins, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("signed out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (snap) {
        if (token !== loadToken) return;
        setAll(snap.bins, function () {
          if (token !== loadToken) return;
          version = snap.v;
          var q = queue;
          queue = [];
          q.forEach(function (m) { if (m.v > version) { apply(m.bins); version = m.v; } });
          ready = true;
          el.dataset.version = String(version);
          el.dataset.ready = "true";
          showStatus(live ? "live" : "");
        });
      })
      .catch(function (e) {
        if (token === loadToken) say("Could not load bins: " + e.message);
      });
  }

  function onMessage(ev) {
    var m = JSON.parse(ev.data);
    if (m.reload) { queue = []; load(); return; }
    if (!ready) { queue.push(m); return; }
    if (m.v <= version) return;
    apply(m.bins);
    version = m.v;
    el.dataset.version = String(version);
  }

  if (window.EventSource && el.dataset.events) {
    var es = new EventSource(el.dataset.events);
    es.addEventListener("open", function () {
      // (Re)connected: anything may have been missed, start from a snapshot.
      live = true;
      el.dataset.live = "true";
      queue = [];
      load();
    });
    es.addEventListener("bins", onMessage);
    es.addEventListener("error", function () {
      live = false;
      el.dataset.live = "false";
      if (ready) showStatus("reconnecting…");
    });
  } else {
    load();
  }

  // Today's plan: outline its bins once both it and the markers are in.
  function loadPlan() {
    if (!el.dataset.plan) return;
    fetch(el.dataset.plan, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        planned = p.bins || {};
        el.dataset.planned = String(Object.keys(planned).length);
        bins.forEach(function (b) { b.marker.setIcon(icon(b.row)); });
      });
  }
  loadPlan();

  // Zones overlay.
  if (el.dataset.zones) {
    fetch(el.dataset.zones, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (!fc || !fc.features || !fc.features.length) return;
        var z = L.geoJSON(fc, {
          style: { color: "#3949ab", weight: 2, opacity: 0.8, fillOpacity: 0.06, dashArray: "6 4" },
          onEachFeature: function (f, layer) {
            layer.bindTooltip(esc(f.properties.name || f.id), { sticky: true });
          },
          interactive: true,
        });
        z.addTo(map);
        z.bringToBack();
        layers["Zones"] = z;
        L.control.layers(null, layers, { collapsed: true }).addTo(map);
      });
  }

  if (form) {
    form.addEventListener("change", function () {
      refilter();
      var q = new URLSearchParams(new FormData(form));
      ["stream", "zone"].forEach(function (k) { if (!q.get(k)) q.delete(k); });
      if (q.get("min") === "0") q.delete("min");
      if (q.get("max") === "100") q.delete("max");
      var s = q.toString();
      history.replaceState(null, "", s ? "?" + s : location.pathname);
    });
  }

  // Tests and the console reach the map through this.
  window.civicMap = {
    map: map,
    cluster: cluster,
    bins: bins,
    shown: countShown,
    ready: function () { return ready; },
  };
})();
