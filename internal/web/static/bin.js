// civic bin page: fill, temperature and battery history as uPlot charts
// with a synced cursor, a 24 h / 7 d / 30 d range picker, drag-to-zoom that
// fetches finer buckets for the zoomed span, and double-click to zoom out.
// With a forecast (data-forecast-* on #charts) the fill chart draws a dashed
// projection from the latest reading to the threshold crossing.
(function () {
  "use strict";
  var box = document.getElementById("charts");
  if (!box || !window.uPlot) return;
  var url = box.dataset.history;
  var status = document.getElementById("chart-status");
  var charts = [];
  var span = 7 * 86400;
  var loading = 0;
  // The forecast: from (now, fill) to (full, threshold), Unix s and %.
  var fc = box.dataset.forecastFull ? {
    now: +box.dataset.forecastNow, fill: +box.dataset.forecastFill,
    full: +box.dataset.forecastFull, threshold: +box.dataset.forecastThreshold,
  } : null;

  function say(t) { if (status) status.textContent = t; }

  function width() {
    return Math.max(260, box.clientWidth - 32);
  }

  function height() {
    return window.innerWidth < 600 ? 150 : 190;
  }

  var specs = [
    { el: "chart-fill", title: "Fill", unit: "%", series: [
      { label: "Fill %", key: "fill", stroke: "#c62828", width: 2, fill: "rgba(198,40,40,0.08)" },
      { label: "min", key: "fill_min", stroke: "rgba(198,40,40,0.35)", width: 1, dash: [4, 4] },
      { label: "max", key: "fill_max", stroke: "rgba(198,40,40,0.35)", width: 1, dash: [4, 4] },
      { label: "Forecast %", key: "forecast", stroke: "#6a1b9a", width: 2, dash: [8, 5], spanGaps: true },
    ], range: [0, 100] },
    { el: "chart-temp", title: "Temperature", unit: "°C", series: [
      { label: "°C", key: "temp", stroke: "#ef6c00", width: 2 },
    ] },
    { el: "chart-battery", title: "Battery", unit: "%", series: [
      { label: "Battery %", key: "battery", stroke: "#2e7d32", width: 2 },
    ], range: [0, 100] },
  ];

  function columns(spec, d) {
    var cols = [d.t];
    spec.series.forEach(function (s) {
      cols.push(d[s.key] || d.t.map(function () { return null; }));
    });
    return cols;
  }

  // withForecast appends the projection to d's columns: the latest fill,
  // the forecast's fill at its now, and the threshold at the crossing,
  // which is cut at half the shown span (so the history keeps most of the
  // chart). Other series are null there.
  function withForecast(d) {
    if (!fc || !(fc.full > fc.now)) return d;
    var n = d.t.length, lastT = n ? d.t[n - 1] : null, lastFill = null;
    for (var i = n - 1; i >= 0; i--) {
      if (d.fill[i] != null) { lastT = d.t[i]; lastFill = d.fill[i]; break; }
    }
    var t0 = Math.max(fc.now, (n ? d.t[n - 1] : fc.now) + 1);
    var t1 = fc.full, y1 = fc.threshold;
    var cap = t0 + Math.max(3600, (d.to - d.from) / 2);
    if (t1 > cap) {
      y1 = fc.fill + (fc.threshold - fc.fill) * (cap - t0) / (fc.full - t0);
      t1 = cap;
    }
    var out = {};
    Object.keys(d).forEach(function (k) {
      out[k] = Array.isArray(d[k]) ? d[k].concat([null, null]) : d[k];
    });
    out.t = d.t.concat([t0, t1]);
    out.forecast = d.t.map(function (t) { return t === lastT && lastFill != null ? lastFill : null; });
    out.forecast.push(fc.fill, Math.round(y1 * 10) / 10);
    return out;
  }

  function build(d) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    specs.forEach(function (spec) {
      var el = document.getElementById(spec.el);
      if (!el) return;
      var opts = {
        title: spec.title,
        width: width(),
        height: height(),
        cursor: { sync: { key: "bin" }, drag: { x: true, y: false } },
        scales: { x: { time: true }, y: spec.range ? { range: spec.range } : { auto: true } },
        axes: [{}, { label: spec.unit, size: 50 }],
        series: [{}].concat(spec.series.map(function (s) {
          return { label: s.label, stroke: s.stroke, width: s.width, fill: s.fill, dash: s.dash, spanGaps: !!s.spanGaps };
        })),
        hooks: { setSelect: [onSelect] },
      };
      var u = new uPlot(civicChartTime(opts), columns(spec, d), el);
      u.over.addEventListener("dblclick", function () { fetchRange(null); });
      charts.push(u);
    });
    box.dataset.points = String(d.t.length);
    box.dataset.ready = "true";
  }

  // A drag selects a span: load it again with finer buckets.
  function onSelect(u) {
    if (u.select.width < 5) return;
    var from = u.posToVal(u.select.left, "x");
    var to = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    fetchRange([Math.floor(from), Math.ceil(to)]);
  }

  function fetchRange(r) {
    // Without a range, ask for the latest span by the server's clock.
    var query = r ? "?from=" + r[0] + "&to=" + r[1] : "?span=" + span;
    var token = ++loading;
    say("Loading…");
    fetch(url + query, { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (d) {
        if (token !== loading) return;
        build(r ? d : withForecast(d));
        var step = d.step >= 3600 ? d.step / 3600 + " h" : d.step / 60 + " min";
        say(d.t.length ? d.t.length + " points, one per " + step + (r ? " · zoomed: double-click to zoom out" : "")
          : "No readings in this range.");
      })
      .catch(function (e) { if (token === loading) say("Could not load history: " + e.message); });
  }

  var buttons = box.querySelectorAll("[data-range]");
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      span = parseInt(b.dataset.range, 10);
      buttons.forEach(function (x) { x.setAttribute("aria-pressed", x === b ? "true" : "false"); });
      fetchRange(null);
    });
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.setSize({ width: width(), height: height() }); });
    }, 150);
  });

  fetchRange(null);
})();
