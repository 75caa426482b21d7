// civic plan page: the routes on a Leaflet map (a colour per route,
// numbered bin stops, facility trips and the depot as their own markers),
// drawn from the plan's own GeoJSON export, and each route's load over
// the day as a uPlot chart that drops at every facility.
(function () {
  "use strict";

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var el = document.getElementById("planmap");
  var status = document.getElementById("planmap-status");
  function say(t) { if (status) status.textContent = t; }

  if (el && window.L) {
    var map = L.map(el, { maxZoom: 19 });
    map.setView([0, 0], 2);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    } else {
      el.classList.add("notiles");
    }
    var markers = 0, lines = 0;
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (fc) {
        var depots = {};
        var layer = L.geoJSON(fc, {
          style: function (f) {
            return { color: f.properties.colour, weight: 4, opacity: 0.85 };
          },
          filter: function (f) {
            // One depot marker per place, however many routes start there.
            if (f.properties.kind !== "depot") return true;
            var k = f.geometry.coordinates.join(",");
            if (depots[k]) return false;
            depots[k] = true;
            return true;
          },
          pointToLayer: function (f, ll) {
            var p = f.properties;
            markers++;
            var cls = "stop-marker rc-" + ((p.route_seq - 1) % 10 + 1) + " k-" + p.kind + (p.status && p.status !== "pending" && p.kind === "bin" ? " st-" + p.status : "");
            var size = p.kind === "bin" ? 24 : 28;
            return L.marker(ll, {
              icon: L.divIcon({
                className: cls,
                html: '<span data-stop="' + esc(p.stop_id) + '">' + esc(p.kind === "disposal" ? "F" : p.kind === "depot" ? "D" : p.label) + "</span>",
                iconSize: [size, size], iconAnchor: [size / 2, size / 2],
              }),
              keyboard: false,
              zIndexOffset: p.kind === "bin" ? 0 : 500,
              title: p.name,
            });
          },
          onEachFeature: function (f, l) {
            var p = f.properties;
            if (p.kind === "route") {
              lines++;
              l.bindTooltip("Route " + p.route_seq + (p.truck ? " · " + esc(p.truck) : ""), { sticky: true });
              return;
            }
            l.bindPopup("<strong>" + esc(p.name) + "</strong>" + (p.address ? "<br>" + esc(p.address) : "") +
              "<br>Route " + p.route_seq + (p.eta ? " · ETA " + esc(new Date(p.eta).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })) : "") +
              (p.reason ? "<br><em>" + esc(p.reason) + "</em>" : "") +
              (p.bin_id ? '<br><a href="/bins/' + encodeURIComponent(p.bin_id) + '">Open bin page →</a>' : ""));
          },
        }).addTo(map);
        var b = layer.getBounds();
        if (b.isValid()) map.fitBounds(b.pad(0.05));
        el.dataset.markers = String(markers);
        el.dataset.lines = String(lines);
        el.dataset.ready = "true";
        say(lines + " routes, " + markers + " stops on the map");
      })
      .catch(function (e) { say("Could not load the routes: " + e.message); });
    window.civicPlanMap = map;
  }

  // Load charts: litres in the truck over the shift, the capacity dashed.
  if (!window.uPlot) return;
  var charts = [];
  document.querySelectorAll(".loadchart").forEach(function (box) {
    var d;
    try { d = JSON.parse(box.dataset.load); } catch (e) { return; }
    if (!d || !d[0] || !d[0].length) return;
    var cap = parseFloat(box.dataset.capacity) || 0;
    var colour = box.dataset.colour || "#1f4fa3";
    var peak = Math.max.apply(null, d[1].concat([1]));
    // The truck's capacity is drawn when the load comes near it; a light
    // route keeps its own scale rather than a flat line at the bottom.
    var showCap = cap > 0 && peak > cap * 0.5;
    var top = showCap ? Math.max(cap, peak) * 1.05 : peak * 1.2;
    var series = [{}, { label: "Load L", stroke: colour, width: 2, fill: colour + "22", points: { size: 4 } }];
    var data = [d[0], d[1]];
    if (showCap) {
      series.push({ label: "Capacity", stroke: "#78808f", width: 1, dash: [6, 4], points: { show: false } });
      data.push(d[0].map(function () { return cap; }));
    }
    var opts = {
      width: Math.max(260, box.clientWidth), height: 160,
      scales: { x: { time: true }, y: { range: [0, top] } },
      axes: [{}, { label: "litres (of " + Math.round(cap).toLocaleString() + ")", size: 60 }],
      series: series,
      legend: { show: true },
    };
    charts.push({ box: box, u: new uPlot(civicChartTime(opts), data, box) });
    box.dataset.ready = "true";
  });
  var t = null;
  window.addEventListener("resize", function () {
    clearTimeout(t);
    t = setTimeout(function () {
      charts.forEach(function (c) { c.u.setSize({ width: Math.max(260, c.box.clientWidth), height: 160 }); });
    }, 150);
  });
})();
