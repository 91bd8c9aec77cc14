/* A facility's position on its form: the point as a marker the user drags (a new facility's
   placed where the map is clicked), the 经度 / 纬度 fields kept in step with it (and it with
   them, as they are typed). The form posts the fields; the server checks the place (inside
   Hebei, inside the account's city). */
(function () {
  "use strict";
  var el = document.getElementById("lm-map-config");
  if (!el) { return; }
  var cfg = JSON.parse(el.textContent);
  var map = window[cfg.map];
  var lon = document.getElementById("f-lon");
  var lat = document.getElementById("f-lat");
  if (!map || !lon || !lat) { return; }
  var marker = null;
  function fields(p) {
    lon.value = p.lng.toFixed(7);
    lat.value = p.lat.toFixed(7);
  }
  function place(latlng) {
    if (!marker) {
      marker = L.marker(latlng, { draggable: true, autoPan: true, title: "拖动以移动位置" }).addTo(map);
      marker.on("dragend", function () { fields(marker.getLatLng()); });
      window.LMW = window.LMW || {};
      LMW.pointMarker = marker;  // for the tests' journeys
    } else {
      marker.setLatLng(latlng);
    }
  }
  var g = cfg.parcel && cfg.parcel.geometry;
  if (g && g.type === "Point") {
    place([g.coordinates[1], g.coordinates[0]]);
  } else if (cfg.start) {
    // Not placed yet: the bureau's city (the page's own fit ran before the map had its size).
    map.invalidateSize();
    map.fitBounds(cfg.start, { padding: [20, 20], animate: false });
  }
  if (cfg.placing) {  // a new facility: a click places (or moves) it
    map.on("click", function (e) { place(e.latlng); fields(e.latlng); });
  }
  function typed() {
    var x = Number(lon.value.replace(/[,，]/g, "").trim());
    var y = Number(lat.value.replace(/[,，]/g, "").trim());
    if (lon.value.trim() && lat.value.trim() && isFinite(x) && isFinite(y) &&
        Math.abs(x) <= 180 && Math.abs(y) <= 90) {
      place([y, x]);
      map.panTo([y, x], { animate: false });
    }
  }
  lon.addEventListener("change", typed);
  lat.addEventListener("change", typed);
  typed();  // a refused form's typed place, drawn again
})();
