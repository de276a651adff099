// Enhancements for the report form. Without this file the form still works:
// the arms questions are always shown and the place is chosen from a list or typed as coordinates.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  document.documentElement.classList.add("js");
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (el) { el.hidden = false; });
  Array.prototype.forEach.call(document.querySelectorAll(".no-js-only"), function (el) { el.hidden = true; });

  // Arms questions only for arms categories.
  var arms = document.getElementById("step-arms");
  function syncArms() {
    var checked = form.querySelector("input[name=category]:checked");
    var isArms = checked && checked.closest(".choice").getAttribute("data-arms") === "1";
    arms.hidden = !isArms;
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "category") syncArms();
  });
  syncArms();

  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  var source = document.getElementById("id_location_source");
  var status = document.getElementById("map-status");
  var mapEl = document.getElementById("map");
  if (!window.L || !mapEl) return;

  mapEl.hidden = false;
  var map = L.map(mapEl, { zoomControl: true, zoomSnap: 0.25, attributionControl: !!form.dataset.tiles });
  // Area names sit under the pin, not over it.
  map.createPane("labels").style.zIndex = 450;
  if (form.dataset.tiles) {
    L.tileLayer(form.dataset.tiles, { attribution: form.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([15.5, -88.0], 11);
  var marker = null;

  function setPoint(latlng, how) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    source.value = how;
    if (marker) marker.setLatLng(latlng);
    else marker = L.marker(latlng, { keyboard: false }).addTo(map);
    document.getElementById("id_place").value = "";
    document.getElementById("id_area").value = "";
  }

  map.on("click", function (event) { setPoint(event.latlng, "map"); });

  fetch(form.dataset.areasUrl, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: { color: "#0b6e4f", weight: 2, fillOpacity: 0.06 },
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { permanent: true, direction: "center", className: "area-label", pane: "labels" });
          shape.on("click", function (event) { setPoint(event.latlng, "map"); });
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [6, 6] });
      if (lat.value && lon.value) setPoint(L.latLng(+lat.value, +lon.value), source.value || "map");
    })
    .catch(function () { /* The list of places below still works. */ });

  var locate = document.getElementById("use-location");
  if (locate && navigator.geolocation) {
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.wait || "…";
      navigator.geolocation.getCurrentPosition(function (position) {
        var here = L.latLng(position.coords.latitude, position.coords.longitude);
        setPoint(here, "gps");
        map.setView(here, 16);
        status.textContent = "✓";
      }, function () {
        status.textContent = locate.dataset.failed || "✗";
      }, { enableHighAccuracy: true, timeout: 15000 });
    });
  } else if (locate) {
    locate.hidden = true;
  }
})();
