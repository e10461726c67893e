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
    // Figures that need attention when above zero (unfillable tasks, failed messages).
    var flagged = root.querySelectorAll("[data-attention]");
    for (var j = 0; j < flagged.length; j++) {
      var count = pick(figures, flagged[j].getAttribute("data-attention"));
      if (typeof count === "number") { flagged[j].classList.toggle("attention", count > 0); }
    }
    var stamp = root.querySelector("[data-updated]");
    if (stamp) { stamp.textContent = new Date().toLocaleTimeString("nl-NL"); }
  }

  // --- keeping the keyboard focus (and open forms) while parts of the page are swapped --------

  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function byKey(container, key) {
    var nodes = container.querySelectorAll("[data-key]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-key") === key) { return nodes[i]; }
    }
    return null;
  }

  function rememberFocus(container) {
    var active = document.activeElement;
    if (!active || active === document.body || !container.contains(active)) { return null; }
    var opened = [];
    var details = container.querySelectorAll("details[open][data-key]");
    for (var i = 0; i < details.length; i++) { opened.push(details[i].getAttribute("data-key")); }
    return {
      element: active,
      key: active.getAttribute("data-key"),
      id: active.id,
      index: Array.prototype.indexOf.call(container.querySelectorAll(FOCUSABLE), active),
      opened: opened
    };
  }

  function restoreFocus(container, memo) {
    if (!memo) { return; }
    for (var i = 0; i < memo.opened.length; i++) {
      var details = byKey(container, memo.opened[i]);
      if (details) { details.open = true; }
    }
    if (memo.element.isConnected) { return; }  // its part did not change: it kept the focus
    var target = null;
    if (memo.key) { target = byKey(container, memo.key); }
    if (!target && memo.id) { target = document.getElementById(memo.id); }
    if (!target && memo.index >= 0) { target = container.querySelectorAll(FOCUSABLE)[memo.index]; }
    if (target) { target.focus({ preventScroll: true }); }
  }

  function parts(node) {
    return Array.prototype.filter.call(node.children, function (child) {
      return child.hasAttribute("data-live-part");
    });
  }

  function names(list) {
    return list.map(function (n) { return n.getAttribute("data-live-part"); }).join(" ");
  }

  // Same tasks in the same order: swap only the rows that changed. False otherwise.
  function patchRows(current, fresh) {
    var old = current.querySelector("tbody");
    var now = fresh.querySelector("tbody");
    if (!old || !now || old.children.length !== now.children.length) { return false; }
    for (var i = 0; i < old.children.length; i++) {
      if (old.children[i].getAttribute("data-task") !== now.children[i].getAttribute("data-task")) {
        return false;
      }
    }
    var changed = [];
    for (var j = 0; j < old.children.length; j++) {
      if (old.children[j].outerHTML !== now.children[j].outerHTML) {
        changed.push([old.children[j], now.children[j]]);
      }
    }
    changed.forEach(function (pair) { pair[0].replaceWith(pair[1]); });
    return true;
  }

  // The board and timeline: part by part, the board row by row, the focus kept.
  function patchLive(target, fresh) {
    var current = target.querySelector("[data-live-version]");
    var memo = rememberFocus(target);
    var before = current ? parts(current) : [];
    var after = parts(fresh);
    if (!current || names(before) !== names(after)) {
      target.replaceChildren(fresh);
    } else {
      for (var i = 0; i < before.length; i++) {
        if (before[i].outerHTML === after[i].outerHTML) { continue; }
        if (before[i].getAttribute("data-live-part") === "board" && patchRows(before[i], after[i])) {
          continue;
        }
        before[i].replaceWith(after[i]);
      }
      current.setAttribute("data-live-version", fresh.getAttribute("data-live-version"));
    }
    restoreFocus(target, memo);
  }

  function patchReasons(fresh) {
    var current = document.querySelector("[data-reasons]");
    if (!fresh || !current || current.outerHTML === fresh.outerHTML) { return; }
    var section = current.parentNode;
    var memo = rememberFocus(section);
    current.replaceWith(fresh);
    restoreFocus(section, memo);
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
          patchLive(target, fresh);
          patchReasons(holder.querySelector("[data-reasons]"));
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
    var tiles = root.getAttribute("data-tile-url");
    // Boundaries from our own reference data need no credit; a tile layer does.
    map = window.L.map(element, { preferCanvas: true, attributionControl: !!tiles, zoomSnap: 0.25 });
    // Volunteer density in a pane under the task markers.
    map.createPane("density");
    map.getPane("density").style.zIndex = 350;
    densityRenderer = window.L.canvas({ pane: "density" });
    if (tiles) {
      window.L.tileLayer(tiles, {
        maxZoom: 18, attribution: root.getAttribute("data-tile-attribution") || ""
      }).addTo(map);
    }
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
