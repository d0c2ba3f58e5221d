// Start-up and the small public API (window.KansrijkeWijkAssistent).

function start() {
  load();
  store.items.forEach(function (item) {
    if (item.kind === 'user' && item.status === 'sending') { item.status = 'queued'; }
  });
  build();
  renderAll();
  setHandoff(store.handoff);
  if (store.open || startOpen) { open(false); }
  else if (store.token || store.outbox.length) { ensureConnected(); }
  // Helpdesk messages are pushed over the WebSocket; on the plain-HTTP fallback the widget
  // asks for the conversation again every few seconds while the helpdesk has it.
  window.setInterval(function () {
    if (conn.mode === 'http' && conn.ready && store.handoff && !conn.httpBusy && !conn.connecting &&
        !store.outbox.length) { connectHttp(); }
  }, 5000);
  window.addEventListener('online', function () {
    if (conn.timer) { window.clearTimeout(conn.timer); conn.timer = null; connect(); }
  });
}

window.KansrijkeWijkAssistent = {
  open: function () { open(true); },
  close: close,
  reset: resetConversation,
  setPortalToken: function (token) {
    portalToken = token || null;
    if (conn.ready) {
      if (conn.mode === 'ws') { transmit(hello()); } else { connectHttp(); }
    }
  }
};

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
