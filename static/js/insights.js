// The institution dashboard's choropleth. Without this file the page still works: the table has
// the same counts. Areas come from /insights/map.json (same query string as the page): outlines
// and the released totals of the latest complete period. Withheld areas are hatched, never
// coloured as if they held a count. Data only ever reaches the page through textContent.
(function () {
  "use strict";
  var root = document.getElementById("insights-map-root");
  if (!root || !window.L) return;
  var label = root.dataset;
  var mapEl = document.getElementById("insights-map");
  var note = document.getElementById("insights-map-note");
  var legendEl = document.getElementById("insights-map-legend");
  var modeEl = document.getElementById("insights-map-mode");
  var periodEl = document.getElementById("insights-map-period");

  // Light to dark; zero has its own pale grey so "none" never looks like "few".
  var COLOURS = ["#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"];
  var ZERO = "#f3f4f6";
  var NO_POPULATION = "#ffffff";
  var HATCH = "url(#insights-hatch)";
  var SVG_NS = "http://www.w3.org/2000/svg";

  var map = null;
  var layer = null;
  var features = [];
  var mode = "count";

  function valueOf(properties) {
    return mode === "rate" ? properties.rate : properties.count;
  }

  // Up to five classes of equal width from zero to the highest value (whole numbers for counts).
  function breaks() {
    var highest = 0;
    features.forEach(function (feature) {
      var value = valueOf(feature.properties);
      if (value != null && value > highest) highest = value;
    });
    if (highest <= 0) return [];
    var step = highest / COLOURS.length;
    if (mode === "count") step = Math.ceil(step);
    var edges = [];
    for (var edge = step; edge < highest - 1e-9; edge += step) edges.push(edge);
    edges.push(highest);
    return edges;
  }

  function colourFor(value, edges) {
    if (value === 0) return ZERO;
    for (var i = 0; i < edges.length; i++) {
      if (value <= edges[i]) return COLOURS[Math.round(i * (COLOURS.length - 1) / Math.max(1, edges.length - 1))];
    }
    return COLOURS[COLOURS.length - 1];
  }

  function fillFor(properties, edges) {
    if (properties.withheld) return HATCH;
    var value = valueOf(properties);
    if (value == null) return NO_POPULATION;
    return colourFor(value, edges);
  }

  function style(edges) {
    return function (feature) {
      return {
        color: "#334155", weight: 1, opacity: 0.9,
        fillColor: fillFor(feature.properties, edges), fillOpacity: feature.properties.withheld ? 1 : 0.85
      };
    };
  }

  function describe(properties) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = properties.name;
    box.appendChild(name);
    box.appendChild(document.createElement("br"));
    if (properties.withheld) {
      box.appendChild(document.createTextNode(label.labelWithheld));
      return box;
    }
    box.appendChild(document.createTextNode(properties.shown + " " + label.labelReports));
    if (properties.rate != null) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(formatNumber(properties.rate) + " " + label.labelRate));
    }
    return box;
  }

  function formatNumber(value) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 }).format(value);
    } catch (e) {
      return String(value);
    }
  }

  function swatch(fill) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("width", "14");
    svg.setAttribute("height", "14");
    svg.setAttribute("aria-hidden", "true");
    var rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("width", "14");
    rect.setAttribute("height", "14");
    rect.setAttribute("fill", fill);
    rect.setAttribute("stroke", "#334155");
    svg.appendChild(rect);
    return svg;
  }

  function legendItem(fill, text) {
    var item = document.createElement("li");
    item.appendChild(swatch(fill));
    item.appendChild(document.createTextNode(text));
    legendEl.appendChild(item);
  }

  function drawLegend(edges) {
    legendEl.replaceChildren();
    var unit = mode === "rate" ? label.labelRate : label.labelReports;
    edges.forEach(function (edge, index) {
      var previous = index === 0 ? 0 : edges[index - 1];
      var from = mode === "count" ? previous + 1 : previous;
      var range = from >= edge ? formatNumber(edge) : formatNumber(from) + "–" + formatNumber(edge);
      legendItem(colourFor(edge, edges), range + " " + unit);
    });
    legendItem(ZERO, label.labelNone);
    if (features.some(function (f) { return f.properties.withheld; })) legendItem(HATCH, label.labelWithheld);
    if (mode === "rate" && features.some(function (f) { return !f.properties.withheld && f.properties.rate == null; })) {
      legendItem(NO_POPULATION, label.labelNoPopulation);
    }
    legendEl.hidden = false;
  }

  function restyle() {
    var edges = breaks();
    layer.setStyle(style(edges));
    drawLegend(edges);
  }

  function tagPaths() {
    // Hooks for styles and tests: which area each outline is, and whether it is withheld.
    layer.eachLayer(function (area) {
      var path = area.getElement && area.getElement();
      if (!path) return;
      path.setAttribute("data-area", area.feature.properties.code);
      if (area.feature.properties.withheld) path.setAttribute("data-withheld", "true");
    });
  }

  function setUpModes() {
    var rate = modeEl.querySelector('input[value="rate"]');
    rate.disabled = !features.some(function (f) { return f.properties.rate != null; });
    modeEl.hidden = false;
    modeEl.addEventListener("change", function (event) {
      if (event.target.name !== "map-mode") return;
      mode = event.target.value;
      restyle();
    });
  }

  function draw(data) {
    if (data.refused) {
      note.textContent = data.refused;
      return;
    }
    features = data.features || [];
    if (!features.length) {
      note.textContent = label.labelEmpty;
      return;
    }
    periodEl.textContent = label.labelPeriod + " " + data.period_label + (data.complete ? "" : " " + label.labelUnderWay);
    mapEl.hidden = false;
    map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: !!label.tiles });
    if (label.tiles) {
      L.tileLayer(label.tiles, { attribution: label.attribution, maxZoom: 19 }).addTo(map);
    }
    var edges = breaks();
    // SVG, not canvas: the withheld areas' fill is an SVG pattern.
    layer = L.geoJSON(data, { style: style(edges), renderer: L.svg() }).addTo(map);
    layer.eachLayer(function (area) { area.bindTooltip(describe(area.feature.properties), { sticky: true }); });
    map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    tagPaths();
    drawLegend(edges);
    setUpModes();
  }

  fetch(label.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then(draw)
    .catch(function () { note.textContent = label.labelFailed; });
})();
