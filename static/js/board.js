// The committee board's map, and the hook live updates call. Without this file the list and its
// filters still work; the map is an extra drawn from /committee/map.geojson with the same filters.
//
// window.ConviveBoard.addOrUpdate(summary) takes what reports.live.report_summary sends:
// {id, code, status, category, channel, area, created_at, lon, lat} and, when present, priority
// (0-3) and assigned (a name). It updates the report's row and marker if they are shown; otherwise,
// on the first page and when the active filters surely match, it adds them at the top.
// It answers "updated", "inserted" or "ignored". window.ConviveBoard.refresh() fetches the list and
// the map again in place (the live feed calls it after reconnecting: missed pushes are not replayed).
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) return;
  var labels = JSON.parse(document.getElementById("board-labels").textContent);
  var filters = JSON.parse(document.getElementById("board-filters-active").textContent);
  var rows = document.getElementById("board-rows");
  var pageSize = parseInt(root.dataset.pageSize, 10) || 50;
  var onFirstPage = root.dataset.page === "1";

  var COLOURS = {
    new: "#d97706", verified: "#0e7490", in_action: "#15803d",
    resolved: "#14532d", rejected: "#6b7280", duplicate: "#a1a1aa"
  };

  function detailUrl(id) {
    return root.dataset.detailUrl.replace(/\/0\/$/, "/" + encodeURIComponent(id) + "/");
  }

  // ---- the list -------------------------------------------------------------------------

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // "Y-m-d H:i" in the project's time zone, as the server renders it.
  function received(iso) {
    var date = new Date(iso);
    if (isNaN(date)) return iso || "";
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {
        timeZone: root.dataset.timeZone || undefined, hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
      }).formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
      return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
    } catch (e) {
      return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
        pad(date.getHours()) + ":" + pad(date.getMinutes());
    }
  }

  function cell(row, index) {
    while (row.cells.length <= index) row.insertCell(-1);
    return row.cells[index];
  }

  function text(td, value) { td.textContent = value == null ? "" : value; }

  function fillRow(row, s) {
    var link = document.createElement("a");
    link.href = detailUrl(s.id);
    link.textContent = s.code;
    cell(row, 0).replaceChildren(link);
    var time = document.createElement("time");
    time.dateTime = s.created_at;
    time.textContent = received(s.created_at);
    cell(row, 1).replaceChildren(time);
    text(cell(row, 2), labels.categories[s.category] || s.category);
    text(cell(row, 3), s.area);
    text(cell(row, 4), labels.channels[s.channel] || s.channel);
    var badge = document.createElement("span");
    badge.className = "status status-" + s.status;
    badge.textContent = labels.statuses[s.status] || s.status;
    cell(row, 5).replaceChildren(badge);
    // A summary without them leaves what the server rendered.
    if (s.priority != null) text(cell(row, 6), labels.priorities[String(s.priority)] || s.priority);
    else cell(row, 6);
    if (s.assigned !== undefined) text(cell(row, 7), s.assigned);
    else cell(row, 7);
  }

  // Only what can be checked from a summary; with an area, date or text filter a new
  // report may or may not belong here, so it waits for the next reload.
  function surelyMatches(s) {
    if (!onFirstPage || filters.area || filters.q || filters.date_from || filters.date_to) return false;
    return ["status", "category", "channel"].every(function (name) {
      return !filters[name] || filters[name] === String(s[name]);
    });
  }

  function rowFor(id) {
    return rows.querySelector('tr[data-report-id="' + String(parseInt(id, 10)) + '"]');
  }

  function insertRow(s) {
    var empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    var row = document.createElement("tr");
    row.dataset.reportId = String(s.id);
    row.className = "fresh";
    fillRow(row, s);
    rows.insertBefore(row, rows.firstChild);
    while (rows.rows.length > pageSize) rows.deleteRow(-1);
  }

  // ---- the map ----------------------------------------------------------------------------

  var map = null;
  var points = null;
  var markers = {};

  function popup(p) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = detailUrl(p.id);
    link.textContent = p.code;
    var strong = document.createElement("strong");
    strong.appendChild(link);
    box.appendChild(strong);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(labels.statuses[p.status] || p.status));
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(labels.categories[p.category] || p.category));
    return box;
  }

  function style(status) {
    var colour = COLOURS[status] || "#334155";
    return { radius: 6, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.9 };
  }

  function placeMarker(p, latlng) {
    var marker = markers[p.id];
    if (marker) {
      marker.setLatLng(latlng).setStyle(style(p.status)).setPopupContent(popup(p));
    } else {
      marker = L.circleMarker(latlng, style(p.status)).bindPopup(popup(p));
      markers[p.id] = marker;
      points.addLayer(marker);
    }
    return marker;
  }

  function legend() {
    var list = document.getElementById("board-map-legend");
    Object.keys(COLOURS).forEach(function (status) {
      var item = document.createElement("li");
      var dot = document.createElement("i");
      dot.style.background = COLOURS[status];
      item.appendChild(dot);
      item.appendChild(document.createTextNode(labels.statuses[status] || status));
      list.appendChild(item);
    });
    list.hidden = false;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      });
  }

  function drawMap() {
    var mapEl = document.getElementById("board-map");
    if (!window.L || !mapEl) return;
    mapEl.hidden = false;
    // Canvas, not one DOM node per marker: thousands of points stay smooth.
    map = L.map(mapEl, { preferCanvas: true, zoomSnap: 0.25, attributionControl: !!root.dataset.tiles });
    if (root.dataset.tiles) {
      L.tileLayer(root.dataset.tiles, { attribution: root.dataset.attribution, maxZoom: 19 }).addTo(map);
    }
    map.setView([15.5, -88.0], 10);
    points = L.featureGroup().addTo(map);
    legend();

    var outlines = getJSON(root.dataset.areasUrl).then(function (data) {
      return L.geoJSON(data, { interactive: false, style: { color: "#0b6e4f", weight: 1, fillOpacity: 0.03 } }).addTo(map);
    }).catch(function () { return null; });

    var reports = loadPoints();
    Promise.all([outlines, reports]).then(function (done) {
      var bounds = points.getBounds();
      if (!bounds.isValid() && done[0]) bounds = done[0].getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 16 });
    });
  }

  function loadPoints() {
    var note = document.getElementById("board-map-note");
    return getJSON(root.dataset.geojsonUrl).then(function (data) {
      points.clearLayers();
      markers = {};
      data.features.forEach(function (feature) {
        var c = feature.geometry.coordinates;
        placeMarker(feature.properties, L.latLng(c[1], c[0]));
      });
      note.textContent = data.truncated ? labels.truncated : "";
    }).catch(function () {
      note.textContent = labels.mapFailed;
    });
  }

  // After the live feed was down: pushes are not replayed, so fetch this page's list and the
  // map again (same URL, same filters) and put them in place without a reload.
  function refresh() {
    var list = fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var freshRows = page.getElementById("board-rows");
        var freshTitle = page.getElementById("board-list-title");
        if (freshRows) rows.innerHTML = freshRows.innerHTML;
        if (freshTitle) document.getElementById("board-list-title").textContent = freshTitle.textContent;
      })
      .catch(function () { /* The rows shown stay; a reload fixes the rest. */ });
    return Promise.all([list, map ? loadPoints() : null]);
  }

  // ---- the hook ---------------------------------------------------------------------------

  function addOrUpdate(s) {
    if (!s || s.id == null) return "ignored";
    var row = rowFor(s.id);
    var where = s.lat != null && s.lon != null && map ? L.latLng(s.lat, s.lon) : null;
    if (!row && !markers[s.id]) {
      if (!surelyMatches(s)) return "ignored";
      insertRow(s);
      if (where) placeMarker(s, where);
      return "inserted";
    }
    // Shown already (in the list, or only on the map when it is an older page): update in place.
    if (row) fillRow(row, s);
    if (where) placeMarker(s, where);
    return "updated";
  }

  window.ConviveBoard = { addOrUpdate: addOrUpdate, refresh: refresh };
  drawMap();
})();
