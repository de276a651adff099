// The board's live feed: one websocket per committee the page shows (data-ws-committees on the
// board's root), each message handed to window.ConviveBoard.addOrUpdate. Reconnects with a
// growing, jittered delay so that a restarted server is not hit by every board at once.
// The indicator's labels come translated on this script's tag (data-connected, data-disconnected).
// Early-warning alerts show as a banner above the board, linking to the alerts page; its words come
// translated on the same tag (data-alert-text with {group} {area} {week} {observed} {expected}
// {threshold}, data-alert-link, data-alerts-url), with English when the page sends none.
(function () {
  "use strict";
  var script = document.currentScript;
  var root = document.querySelector("[data-ws-committees]");
  if (!root || !("WebSocket" in window)) return;

  var ids;
  try {
    ids = JSON.parse(root.getAttribute("data-ws-committees") || "[]");
  } catch (error) {
    ids = [];
  }
  ids = ids.filter(function (id) { return /^\d+$/.test(String(id)); });
  if (!ids.length) return;

  var FIRST_DELAY = 1000;
  var MAX_DELAY = 30000;
  var labels = {
    connected: (script && script.getAttribute("data-connected")) || "Live",
    disconnected: (script && script.getAttribute("data-disconnected")) || "Reconnecting…",
    alert: (script && script.getAttribute("data-alert-text")) ||
      "Early warning: {group} in {area}, week of {week}: {observed} reports where about {expected} were expected.",
    alertLink: (script && script.getAttribute("data-alert-link")) || "See the alerts"
  };
  var alertsUrl = (script && script.getAttribute("data-alerts-url")) || "/insights/alerts/";
  var status = indicator();
  var sockets = {};
  var leaving = false;

  function indicator() {
    var element = document.getElementById("live-status");
    if (!element) {
      // Before the board, not inside it: the board may be a grid whose cells are its panels.
      element = document.createElement("p");
      element.id = "live-status";
      root.parentNode.insertBefore(element, root);
    }
    element.classList.add("live-status");
    element.setAttribute("role", "status");
    return element;
  }

  function showStatus() {
    var open = ids.every(function (id) {
      return sockets[id] && sockets[id].readyState === WebSocket.OPEN;
    });
    var state = open ? "connected" : "disconnected";
    if (status.getAttribute("data-state") === state) return;
    status.setAttribute("data-state", state);
    status.textContent = labels[state];
  }

  function board() {
    return window.ConviveBoard && typeof window.ConviveBoard.addOrUpdate === "function" ? window.ConviveBoard : null;
  }

  function alertText(alert) {
    // Plain string replacement into textContent: nothing in a message is ever parsed as HTML.
    return labels.alert.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(alert, name) ? String(alert[name]) : whole;
    });
  }

  function showAlert(alert) {
    if (!/^\d+$/.test(String(alert.id))) return;
    var list = document.getElementById("live-alerts");
    if (!list) {
      // The workspace's message list, so the banner looks like the page's own notices.
      list = document.createElement("ul");
      list.id = "live-alerts";
      list.className = "messages";
      list.setAttribute("role", "alert");
      root.parentNode.insertBefore(list, root);
    }
    // An administrator's board listens to every committee: one banner per alert, however many sockets.
    if (document.getElementById("live-alert-" + alert.id)) return;
    var banner = document.createElement("li");
    banner.id = "live-alert-" + alert.id;
    banner.className = "error live-alert";
    banner.appendChild(document.createTextNode(alertText(alert) + " "));
    var link = document.createElement("a");
    link.href = alertsUrl + "#alert-" + alert.id;
    link.textContent = labels.alertLink;
    banner.appendChild(link);
    list.insertBefore(banner, list.firstChild);
  }

  function onMessage(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (message && message.event === "alert" && message.alert) {
      showAlert(message.alert);
      return;
    }
    var target = board();
    if (target && message && message.report) target.addOrUpdate(message.report);
  }

  function backoff(attempt) {
    var delay = Math.min(FIRST_DELAY * Math.pow(2, attempt), MAX_DELAY);
    return delay / 2 + Math.random() * (delay / 2);
  }

  // caughtUp: false after an outage; pushes are not replayed, so the board must catch up itself.
  function connect(id, attempt, caughtUp) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/committee/" + id + "/");
    sockets[id] = socket;
    socket.addEventListener("open", function () {
      var target = board();
      if (!caughtUp && target && typeof target.refresh === "function") target.refresh();
      attempt = 0;
      caughtUp = true;
      showStatus();
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function () {
      showStatus();
      if (leaving) return;
      window.setTimeout(function () { connect(id, attempt + 1, false); }, backoff(attempt));
    });
  }

  // Leaving the page closes the sockets: not an outage to reconnect from, unless the page comes
  // back from the browser's back-forward cache.
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    leaving = false;
    ids.forEach(function (id) {
      if (sockets[id].readyState >= WebSocket.CLOSING) connect(id, 0, false);
    });
  });

  showStatus();
  ids.forEach(function (id) { connect(id, 0, true); });
})();
