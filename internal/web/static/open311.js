// 311 pages: the report form's location picker and the public map of
// open requests. Both work without the map (no vendor files, no tiles):
// the form then takes coordinates or an address typed in.
(function () {
  "use strict";
  var tiles = document.body.dataset.tiles || "";
  var credit = document.body.dataset.attribution || "";
  function baseMap(el, lat, lng, zoom) {
    var m = L.map(el, { zoomControl: true }).setView([lat, lng], zoom);
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19, attribution: credit }).addTo(m); }
    return m;
  }
  var pick = document.getElementById("pick");
  if (pick && window.L) {
    var latIn = document.getElementById("lat"), lngIn = document.getElementById("long");
    var lat = parseFloat(pick.dataset.lat), lng = parseFloat(pick.dataset.long);
    var has = isFinite(lat) && isFinite(lng);
    var m = baseMap(pick, has ? lat : 39.9526, has ? lng : -75.1652, has ? 17 : 13);
    var marker = has ? L.circleMarker([lat, lng], { radius: 9 }).addTo(m) : null;
    m.on("click", function (e) {
      latIn.value = e.latlng.lat.toFixed(6);
      lngIn.value = e.latlng.lng.toFixed(6);
      if (marker) { marker.setLatLng(e.latlng); } else { marker = L.circleMarker(e.latlng, { radius: 9 }).addTo(m); }
    });
    pick.dataset.ready = "true";
  } else if (pick) {
    pick.hidden = true;
  }
  var rm = document.getElementById("reqmap");
  if (rm && window.L) {
    var pts = JSON.parse(rm.dataset.points || "[]");
    var map = baseMap(rm, 39.9526, -75.1652, 12);
    var bounds = [];
    pts.forEach(function (p) {
      var c = L.circleMarker([p.lat, p.long], { radius: 7, color: p.status === "submitted" ? "#c62828" : "#ef6c00" }).addTo(map);
      var a = document.createElement("a");
      a.href = "/requests/" + encodeURIComponent(p.id);
      a.textContent = "#" + p.id + " " + p.service + " (" + p.status.replace("_", " ") + ")";
      c.bindPopup(a);
      bounds.push([p.lat, p.long]);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 }); }
    rm.dataset.ready = "true";
    rm.dataset.count = String(pts.length);
  } else if (rm) {
    rm.hidden = true;
  }
})();
