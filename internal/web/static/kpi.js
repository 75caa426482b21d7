// civic KPI page: the weekly figures and the fill histogram as uPlot
// charts, from the JSON the page embeds (#kpi-data). Bars for counts, a
// wider pale bar behind for the fixed schedule's visits, lines for rates.
(function () {
  "use strict";
  var box = document.getElementById("kpi-charts");
  var src = document.getElementById("kpi-data");
  if (!box || !src || !window.uPlot) return;
  var d = JSON.parse(src.textContent);
  var charts = [];
  var week = 7 * 86400;

  function bars(size) { return uPlot.paths.bars({ size: [size, 80], align: 0 }); }

  function width(el) { return Math.max(240, el.clientWidth); }
  function height() { return window.innerWidth < 600 ? 170 : 210; }

  // Weeks on a time axis, padded by half a week so single weeks show.
  var weekScale = {
    time: true,
    range: function (u, min, max) { return [min - week / 2, max + week / 2]; },
  };
  function nulls(a) { return a.map(function (v) { return v == null ? null : v; }); }

  var specs = [
    { el: "chart-collections", x: d.weeks, scale: weekScale, unit: "visits", series: [
      { label: "Fixed schedule", data: d.baseline, stroke: "#9aa3b2", fill: "rgba(154,163,178,0.35)", paths: bars(0.8) },
      { label: "Collections made", data: d.collections, stroke: "#1f4fa3", fill: "rgba(31,79,163,0.8)", paths: bars(0.45) },
    ] },
    { el: "chart-km", x: d.weeks, scale: weekScale, unit: "km", series: [
      { label: "km driven", data: d.km_routes, stroke: "#1f4fa3", fill: "rgba(31,79,163,0.7)", paths: bars(0.5) },
      { label: "km avoided", data: nulls(d.km_saved), stroke: "#2e7d32", width: 2, points: { show: true, size: 7 } },
    ] },
    { el: "chart-incidents", x: d.weeks, scale: weekScale, unit: "count", series: [
      { label: "Overflows", data: d.overflows, stroke: "#c62828", fill: "rgba(198,40,40,0.7)", paths: bars(0.5) },
      { label: "Late stops", data: d.late, stroke: "#ef6c00", width: 2, points: { show: true, size: 7 } },
      { label: "Skipped stops", data: d.skipped, stroke: "#6a1b9a", width: 2, dash: [5, 4], points: { show: true, size: 6 } },
    ] },
    { el: "chart-311", x: d.weeks, scale: weekScale, unit: "requests", series: [
      { label: "Received", data: d.requests, stroke: "#5c6b80", fill: "rgba(92,107,128,0.45)", paths: bars(0.5) },
      { label: "On time", data: d.sla_met, stroke: "#2e7d32", width: 2, points: { show: true, size: 7 } },
      { label: "Late", data: d.sla_missed, stroke: "#c62828", width: 2, dash: [5, 4], points: { show: true, size: 6 } },
    ] },
    { el: "chart-fill", x: d.fill_pct, scale: { time: false, range: [0, 100] }, unit: "collections", xunit: "% full", series: [
      { label: "Collections", data: d.fill, stroke: "#ef6c00", fill: "rgba(239,108,0,0.7)", paths: bars(0.9) },
    ] },
  ];

  function build() {
    charts.forEach(function (c) { c.u.destroy(); });
    charts = [];
    var drawn = 0;
    specs.forEach(function (spec) {
      var el = document.getElementById(spec.el);
      if (!el || !spec.x || !spec.x.length) return;
      var opts = {
        width: width(el),
        height: height(),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: spec.scale, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
        axes: [
          spec.scale.time ? { values: "{D} {MMM}" } : { label: spec.xunit, values: function (u, vs) { return vs.map(function (v) { return v + "%"; }); } },
          { label: spec.unit, size: 55 },
        ],
        series: [{ label: spec.scale.time ? "Week of" : "Fill" }].concat(spec.series.map(function (s) {
          return { label: s.label, stroke: s.stroke, fill: s.fill, width: s.width || 1, dash: s.dash, paths: s.paths,
            points: s.points || { show: false }, spanGaps: true };
        })),
      };
      var data = [spec.x].concat(spec.series.map(function (s) { return s.data; }));
      charts.push({ el: el, u: new uPlot(civicChartTime(opts), data, el) });
      drawn++;
    });
    box.dataset.charts = String(drawn);
    box.dataset.ready = "true";
  }

  build();
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      charts.forEach(function (c) { c.u.setSize({ width: width(c.el), height: height() }); });
    }, 150);
  });
})();
