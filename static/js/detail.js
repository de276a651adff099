// The report detail's small map: the exact point, over the outline of its area.
// Without this file (or Leaflet) the page still shows the coordinates as text.
(function () {
  "use strict";
  var el = document.getElementById("report-map");
  var data = document.getElementById("report-map-data");
  if (!el || !data || !window.L) return;
  var config = JSON.parse(data.textContent);
  var outline = config.area
    ? L.geoJSON(config.area, { style: { color: "#0b6e4f", weight: 2, fillOpacity: 0.06 }, interactive: false })
    : null;
  if (!config.point && !(outline && outline.getBounds().isValid())) return;

  el.hidden = false;
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!config.tiles });
  if (config.tiles) {
    L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  }
  // Leaflet draws layers only once the map has a view: set it first.
  if (config.point) map.setView(config.point, 16);
  else map.fitBounds(outline.getBounds(), { padding: [6, 6] });
  if (outline) outline.addTo(map);
  if (config.point) {
    L.circleMarker(config.point, { radius: 8, color: "#b3261e", weight: 3, fillOpacity: 0.6 }).addTo(map);
  }
})();
