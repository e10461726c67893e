/* The readiness page's coverage map: the regions' outlines and, per PC4 centroid, a circle whose
   size follows the available volunteers per 10,000 inhabitants (aggregates only; the server left
   out the small counts). Offline by default: a tile layer only when one is configured. */
(function () {
  "use strict";

  function radius(perTenK) {
    return Math.max(4, Math.min(18, 4 + Math.sqrt(perTenK || 0) * 2));
  }

  function nl(value) {
    return String(value).replace(".", ",");
  }

  function draw(root, data) {
    var tiles = root.getAttribute("data-tile-url");
    var map = window.L.map(root, { preferCanvas: true, attributionControl: !!tiles, zoomSnap: 0.25 });
    if (tiles) {
      window.L.tileLayer(tiles, {
        maxZoom: 18, attribution: root.getAttribute("data-tile-attribution") || ""
      }).addTo(map);
    }
    var regions = data.features.filter(function (f) { return f.properties.kind === "region"; });
    var cells = data.features.filter(function (f) { return f.properties.kind === "pc4"; });
    var outline = window.L.geoJSON({ type: "FeatureCollection", features: regions }, {
      style: function () { return { color: "#111827", weight: 2, fill: false }; }
    }).addTo(map);
    var layer = window.L.layerGroup();
    cells.forEach(function (f) {
      var p = f.properties;
      var c = f.geometry.coordinates;
      window.L.circleMarker([c[1], c[0]], {
        radius: radius(p.per_10k), color: "#6d28d9", weight: 1, fillColor: "#ede9fe", fillOpacity: 0.8
      }).bindTooltip("PC4 " + p.pc4 + ": " + p.available + " beschikbaar" +
        (p.per_10k === null ? "" : " (" + nl(p.per_10k) + " per 10.000 inwoners)")).addTo(layer);
    });
    layer.addTo(map);
    if (regions.length) {
      map.fitBounds(outline.getBounds());
    } else {
      map.setView([52.2, 5.3], 7);
    }
    root.setAttribute("data-cells", String(cells.length));
    var status = document.querySelector("[data-map-status]");
    if (status) {
      var hidden = data.suppressed || { volunteers: 0, areas: 0 };
      status.textContent = cells.length + " postcodegebieden op de kaart; " + hidden.areas +
        " gebieden met samen " + hidden.volunteers + " vrijwilligers weggelaten (te klein).";
    }
    document.body.setAttribute("data-map-ready", "1");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dekking");
    if (!root || !window.L) { return; }
    fetch(root.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) { draw(root, data); })
      .catch(function () {
        var status = document.querySelector("[data-map-status]");
        if (status) { status.textContent = "De kaart kon niet worden geladen."; }
      });
  });
})();
