/* The coordinator's dashboard: live figures and board (polling), the map, print buttons.
   A static file because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var FULL_EVERY = 15; // the figures that read the volunteer tables: every 15th poll (30 s)
  var STATE_COLOURS = {
    open: "#b45309", offering: "#1d4ed8", filled: "#047857", in_progress: "#0f766e",
    done: "#4b5563", unfillable: "#b91c1c"
  };

  function bindPrint() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }

  // Forms that ask first (cancelling a task); delegated, so board rows loaded later ask too.
  function bindConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form && form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
  }

  function pick(data, path) {
    var parts = path.split(".");
    var value = data;
    for (var i = 0; i < parts.length; i++) {
      if (value === null || value === undefined) { return undefined; }
      value = value[parts[i]];
    }
    return value;
  }

  function updateFigures(root, figures) {
    var nodes = root.querySelectorAll("[data-figure]");
    for (var i = 0; i < nodes.length; i++) {
      var value = pick(figures, nodes[i].getAttribute("data-figure"));
      if (value !== undefined && value !== null && String(value) !== nodes[i].textContent) {
        nodes[i].textContent = String(value);
      }
    }
    var stamp = root.querySelector("[data-updated]");
    if (stamp) { stamp.textContent = new Date().toLocaleTimeString("nl-NL"); }
  }

  function refreshBoard(root, version) {
    var url = root.getAttribute("data-board-url") + window.location.search;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("[data-live-version]");
        var target = document.getElementById("live");
        if (fresh && target) {
          target.replaceChildren(fresh);
          root.setAttribute("data-version", version);
        }
      });
  }

  function startPolling(root) {
    var polls = 0;
    var busy = false;
    function poll() {
      if (busy) { return; }
      busy = true;
      polls += 1;
      var full = polls % FULL_EVERY === 1;
      fetch(root.getAttribute("data-live-url") + (full ? "?volledig=1" : ""), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return null; }
          updateFigures(root, data.figures);
          if (full && polls > 1) { refreshVolunteers(root); }
          if (data.version !== root.getAttribute("data-version")) {
            return refreshBoard(root, data.version).then(function () { return refreshMarkers(); });
          }
          return null;
        })
        .catch(function () { /* the next poll tries again */ })
        .then(function () { busy = false; });
    }
    poll();
    window.setInterval(poll, POLL_MS);
  }

  var map = null;
  var markerLayer = null;
  var densityLayer = null;
  var densityRenderer = null;
  var mapRoot = null;

  // The server writes every marker's tooltip (in Dutch, with the states' Dutch names).
  function tooltip(p) { return p.label || ""; }

  function drawTasks(data) {
    var layer = window.L.layerGroup();
    data.features.forEach(function (f) {
      var c = f.geometry.coordinates;
      var p = f.properties;
      var marker = window.L.circleMarker([c[1], c[0]], {
        radius: p.kind === "tasks" ? Math.min(18, 5 + Math.sqrt(p.count) * 1.5) : 6,
        color: "#111827", weight: 1, fillColor: STATE_COLOURS[p.state] || "#6b7280",
        fillOpacity: 0.85
      });
      marker.bindTooltip(tooltip(p));
      layer.addLayer(marker);
    });
    if (markerLayer) { map.removeLayer(markerLayer); }
    markerLayer = layer.addTo(map);
    mapRoot.setAttribute("data-markers", String(data.features.length));
    if (!document.body.hasAttribute("data-map-ready")) {
      document.body.setAttribute("data-map-ready", "1");
      if (window.performance && window.performance.mark) { window.performance.mark("map-drawn"); }
    }
    var status = document.querySelector("[data-map-status]");
    if (status && data.clustered) { status.setAttribute("data-clustered", "1"); }
  }

  function drawDensity(data) {
    var layer = window.L.layerGroup();
    data.features.forEach(function (f) {
      var c = f.geometry.coordinates;
      var marker = window.L.circleMarker([c[1], c[0]], {
        radius: Math.min(14, 3 + Math.sqrt(f.properties.count)), color: "#6d28d9", weight: 1,
        fillOpacity: 0.12, opacity: 0.35, renderer: densityRenderer
      });
      marker.bindTooltip(tooltip(f.properties));
      layer.addLayer(marker);
    });
    if (densityLayer) { map.removeLayer(densityLayer); }
    densityLayer = layer.addTo(map);
    var status = document.querySelector("[data-map-status]");
    if (status) {
      status.textContent = (status.hasAttribute("data-clustered") ? "Taken per postcodegebied samengevoegd. " : "") +
        (data.hidden_volunteers ? data.hidden_volunteers + " vrijwilligers in gebieden met minder dan " +
          data.min_count + " niet getoond." : "");
    }
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; });
  }

  function refreshMarkers() {
    if (!map) { return null; }
    return getJson(mapRoot.getAttribute("data-markers-url")).then(function (data) {
      if (data) { drawTasks(data); }
    });
  }

  function refreshVolunteers(root) {
    var holder = document.getElementById("dekking");
    var jobs = [];
    if (holder) {
      jobs.push(fetch(holder.getAttribute("data-coverage-url"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var box = document.createElement("div");
          box.innerHTML = html;
          var table = box.querySelector("[data-coverage]");
          if (table) { holder.replaceChildren(table); }
        }));
    }
    if (map) {
      jobs.push(getJson(root.getAttribute("data-density-url")).then(function (data) {
        if (data) { drawDensity(data); }
      }));
    }
    return Promise.all(jobs);
  }

  function startMap(root) {
    var element = document.getElementById("kaart");
    if (!element || !window.L) { return Promise.resolve(); }
    mapRoot = root;
    map = window.L.map(element, { preferCanvas: true, attributionControl: false, zoomSnap: 0.25 });
    // Volunteer density in a pane under the task markers.
    map.createPane("density");
    map.getPane("density").style.zIndex = 350;
    densityRenderer = window.L.canvas({ pane: "density" });
    var tiles = root.getAttribute("data-tile-url");
    if (tiles) { window.L.tileLayer(tiles, { maxZoom: 18 }).addTo(map); }
    var area = getJson(root.getAttribute("data-area-url")).then(function (data) {
      var layer = window.L.geoJSON(data, {
        style: function (f) {
          return f.properties.kind === "region"
            ? { color: "#111827", weight: 2, fill: false }
            : { color: "#6b7280", weight: 1, fillColor: f.properties.in_area ? "#fde68a" : "#f3f4f6", fillOpacity: 0.5 };
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds());
    });
    var markers = getJson(root.getAttribute("data-markers-url"));
    return Promise.all([area, markers]).then(function (results) { drawTasks(results[1]); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindPrint();
    bindConfirm();
    var root = document.getElementById("dashboard");
    if (!root) { return; }
    startMap(root).then(function () {
      refreshVolunteers(root).then(function () {
        document.body.setAttribute("data-volunteers-ready", "1");
        if (window.performance && window.performance.mark) {
          window.performance.mark("volunteers-drawn");
        }
      });
      startPolling(root);
    });
  });
})();
