/* A facility's position on its edit form: the stored point as a marker the user drags, the
   经度 / 纬度 fields kept in step with it (and it with them, as they are typed). The form
   posts the fields; the server checks the place (inside Hebei, inside the account's city). */
(function () {
  "use strict";
  var el = document.getElementById("lm-map-config");
  if (!el) { return; }
  var cfg = JSON.parse(el.textContent);
  var map = window[cfg.map];
  var lon = document.getElementById("f-lon");
  var lat = document.getElementById("f-lat");
  if (!map || !lon || !lat || !cfg.parcel || !cfg.parcel.geometry) { return; }
  var c = cfg.parcel.geometry.coordinates;
  var marker = L.marker([c[1], c[0]], { draggable: true, autoPan: true, title: "拖动以移动位置" }).addTo(map);
  marker.on("dragend", function () {
    var p = marker.getLatLng();
    lon.value = p.lng.toFixed(7);
    lat.value = p.lat.toFixed(7);
  });
  function typed() {
    var x = Number(lon.value.replace(/[,，]/g, "").trim());
    var y = Number(lat.value.replace(/[,，]/g, "").trim());
    if (lon.value.trim() && lat.value.trim() && isFinite(x) && isFinite(y) &&
        Math.abs(x) <= 180 && Math.abs(y) <= 90) {
      marker.setLatLng([y, x]);
      map.panTo([y, x], { animate: false });
    }
  }
  lon.addEventListener("change", typed);
  lat.addEventListener("change", typed);
  window.LMW = window.LMW || {};
  LMW.pointMarker = marker;  // for the tests' journeys
})();
