// The demo's live page: a WebSocket chat and an EventSource that resumes with Last-Event-ID,
// both carried by lamina-broadcast (so they work across worker processes).
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

  function describe(msg) {
    if (msg.kind === "message") return "[" + msg.time + "] " + msg.who + ": " + msg.text;
    return "[" + msg.time + "] " + msg.who + " " + msg.kind;
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
      var envelope = JSON.parse(event.data);
      if (envelope.kind === "welcome") {  // the server's own hello, not a broadcast
        document.getElementById("ws-you").textContent = envelope.you;
        document.getElementById("ws-worker").textContent = envelope.worker;
        return;
      }
      if (envelope.kind === "gap") {  // the room went on without us for a moment
        add(chatLog, "(some messages were missed)", { kind: "gap" });
        return;
      }
      var msg = envelope.data;
      add(chatLog, describe(msg), { kind: msg.kind, who: msg.who, text: msg.text || "" });
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
  var lastSeen = "";
  var source = new EventSource(root.dataset.eventsUrl);

  source.addEventListener("open", function () {
    connections += 1;
    document.getElementById("sse-connections").textContent = connections;
    setStatus(sseStatus, "open");
  });
  source.addEventListener("error", function () {
    // The server ended the stream (or went away): the browser reconnects by itself.
    setStatus(sseStatus, source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
  source.addEventListener("chat", function (event) {
    var msg = JSON.parse(event.data);
    add(sseLog, "#" + event.lastEventId + " " + describe(msg), {
      id: event.lastEventId,
      kind: msg.kind,
      text: msg.text || "",
      resumedFrom: connections > 1 ? lastSeen : "",
      connection: String(connections),
    });
    lastSeen = event.lastEventId;
  });
  source.addEventListener("reset", function () {
    // Continuity was lost (history expired, or plain pub/sub reconnected): start over.
    add(sseLog, "(reset: events were missed)", { kind: "reset" });
  });
})();
