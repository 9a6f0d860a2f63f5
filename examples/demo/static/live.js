// The demo's live page: a WebSocket chat and an EventSource that resumes with Last-Event-ID.
// Everything the server sends is shown with textContent, never as HTML.
(function () {
  "use strict";

  var root = document.getElementById("live");
  if (!root) return;

  function add(list, text, attrs) {
    var item = document.createElement("li");
    item.textContent = text;
    Object.keys(attrs || {}).forEach(function (key) { item.dataset[key] = attrs[key]; });
    list.appendChild(item);
    while (list.children.length > 50) list.removeChild(list.firstChild);
    return item;
  }

  function setStatus(el, state) {
    el.dataset.state = state;
    el.textContent = state;
  }

  // ------------------------------------------------------------------ WebSocket chat
  var wsStatus = document.getElementById("ws-status");
  var chatLog = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var socket = null;

  function connectChat() {
    socket = new WebSocket(root.dataset.wsUrl);
    setStatus(wsStatus, "connecting");
    socket.addEventListener("open", function () { setStatus(wsStatus, "open"); });
    socket.addEventListener("close", function () {
      setStatus(wsStatus, "closed");
      setTimeout(connectChat, 2000);
    });
    socket.addEventListener("message", function (event) {
      var msg = JSON.parse(event.data);
      if (msg.online !== undefined) {
        document.getElementById("ws-online").textContent = msg.online;
      }
      if (msg.kind === "welcome") {
        document.getElementById("ws-you").textContent = msg.you;
      } else if (msg.kind === "message") {
        add(chatLog, "[" + msg.time + "] " + msg.who + ": " + msg.text,
            { kind: "message", who: msg.who, text: msg.text });
      } else {
        add(chatLog, msg.who + " " + msg.kind, { kind: msg.kind, who: msg.who });
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket && socket.readyState === WebSocket.OPEN && input.value) {
      socket.send(input.value);
      input.value = "";
    }
  });
  connectChat();

  // ------------------------------------------------------------------ Server-Sent Events
  var sseStatus = document.getElementById("sse-status");
  var sseLog = document.getElementById("sse-log");
  var connections = 0;
  var pace = new URLSearchParams(window.location.search).get("interval");
  var url = root.dataset.eventsUrl + (pace ? "?interval=" + encodeURIComponent(pace) : "");
  var source = new EventSource(url);

  source.addEventListener("open", function () {
    connections += 1;
    document.getElementById("sse-connections").textContent = connections;
    setStatus(sseStatus, "open");
  });
  source.addEventListener("error", function () {
    // The server ended the stream (or went away): the browser reconnects by itself.
    setStatus(sseStatus, source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
  source.addEventListener("tick", function (event) {
    var tick = JSON.parse(event.data);
    var note = tick.resumed_from ? " (resumed after id " + tick.resumed_from + ")" : "";
    add(sseLog, "[" + tick.time + "] event " + tick.n + note, {
      n: String(tick.n),
      lastEventId: event.lastEventId,
      resumedFrom: tick.resumed_from || "",
      connection: String(connections),
    });
  });
})();
