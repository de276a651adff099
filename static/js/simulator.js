// Phone simulator: ask the server to sign a Twilio-shaped message, then post it to the
// real webhook exactly as Twilio would, and show the TwiML reply as a received message.
(function () {
  "use strict";
  var form = document.getElementById("simulator");
  if (!form) return;
  var log = document.getElementById("sim-log");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function bubble(text, who) {
    var item = document.createElement("li");
    item.className = "bubble " + who;
    item.textContent = text;
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function replyText(xml) {
    var doc = new DOMParser().parseFromString(xml, "text/xml");
    return Array.prototype.map.call(doc.getElementsByTagName("Message"), function (node) {
      return node.textContent;
    }).join("\n");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var fields = {
      from: document.getElementById("sim-from").value,
      channel: document.getElementById("sim-channel").value,
      body: document.getElementById("sim-body").value,
      latitude: document.getElementById("sim-lat").value,
      longitude: document.getElementById("sim-lon").value
    };
    if (!fields.body && !(fields.latitude && fields.longitude)) return;
    bubble(fields.body || "📍 " + fields.latitude + ", " + fields.longitude, "sent");
    fetch(form.dataset.signUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(fields)
    }).then(function (response) { return response.json(); }).then(function (signed) {
      return fetch(form.dataset.webhookUrl, {
        method: "POST", credentials: "omit",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed.signature },
        body: new URLSearchParams(signed.params).toString()
      });
    }).then(function (response) { return response.text(); }).then(function (xml) {
      var text = replyText(xml);
      if (text) bubble(text, "received");
    }).catch(function () { bubble("⚠", "received"); });
    document.getElementById("sim-body").value = "";
    document.getElementById("sim-lat").value = "";
    document.getElementById("sim-lon").value = "";
  });
})();
