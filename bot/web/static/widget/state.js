// The conversation as this tab knows it: kept in sessionStorage, so it survives a reload and
// navigation in this tab. `items` is what the log shows, `outbox` what the gateway has not answered.

var store = { token: null, items: [], outbox: [], open: false, handoff: null };
function load() {
  try {
    var raw = window.sessionStorage.getItem(STORAGE_KEY);
    if (raw) {
      var data = JSON.parse(raw);
      if (data && typeof data === 'object') {
        store.token = typeof data.token === 'string' ? data.token : null;
        store.items = Array.isArray(data.items) ? data.items : [];
        store.outbox = Array.isArray(data.outbox) ? data.outbox : [];
        store.open = data.open === true;
        store.handoff = data.handoff && typeof data.handoff === 'object' ? data.handoff : null;
      }
    }
  } catch (e) { /* storage unavailable: the widget still works for this page */ }
}
function save() {
  try {
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
      token: store.token, items: store.items.slice(-200), outbox: store.outbox, open: store.open,
      handoff: store.handoff
    }));
  } catch (e) { /* ignore */ }
}

function findItem(id) {
  for (var i = store.items.length - 1; i >= 0; i--) {
    if (store.items[i].kind === 'user' && store.items[i].id === id) { return store.items[i]; }
  }
  return null;
}

function hasItem(id) {
  for (var i = store.items.length - 1; i >= 0; i--) { if (store.items[i].id === id) { return true; } }
  return false;
}

function dropFromOutbox(id) {
  store.outbox = store.outbox.filter(function (frame) { return frame.id !== id; });
}

// Ids of user messages whose answer is shown (a resend after a reconnect is not shown twice).
var answered = {};
