// What the visitor does (send, choose, retry, wipe) and what the gateway's frames do to the
// conversation (docs/widget.md, "Frames").

function submit() {
  var text = input.value.replace(/^\s+|\s+$/g, '');
  setAlert('');
  if (!text) { setAlert(T.empty); input.focus(); return; }
  if (text.length > maxChars) { setAlert(fmt(T.tooLong, { n: maxChars })); return; }
  input.value = '';
  updateCount();
  queue({ type: 'message', id: newId(), text: text }, text);
}
function sendChoice(b) {
  setAlert('');
  queue({ type: 'button', id: newId(), payload: b.payload, title: b.title }, b.title);
}
function queue(frame, display) {
  var item = { kind: 'user', id: frame.id, text: display, status: conn.ready ? 'sending' : 'queued' };
  append(item);
  store.outbox.push(frame);
  save();
  if (conn.ready) { transmit(frame); } else { ensureConnected(); }
  setTyping();
}
function retry(id) {
  var item = findItem(id);
  if (!item || !item.retry) { return; }
  var frame = item.retry;
  delete item.retry;
  item.status = conn.ready ? 'sending' : 'queued';
  delete item.error;
  updateUser(item);
  store.outbox.push(frame);
  save();
  if (conn.ready) { transmit(frame); } else { ensureConnected(); }
  setTyping();
}
function resetConversation() {
  store.items = [];
  store.outbox = [];
  setHandoff(null);
  renderAll();
  setAlert('');
  setConn(T.newConversation, 4000);
  if (conn.ready) {
    transmit({ type: 'reset' });
  } else {
    store.token = null;
    save();
    ensureConnected();
  }
  save();
  setTyping();
  input.focus();
}

function onFrame(f) {
  if (!f || typeof f.type !== 'string') { return; }
  if (f.type === 'ready') { onReady(f); }
  else if (f.type === 'ack') { onAck(f); }
  else if (f.type === 'typing') { if (!staffed()) { typingEl.hidden = false; scrollDown(); } }
  else if (f.type === 'reply') { onReply(f); }
  else if (f.type === 'error') { onError(f); }
  else if (f.type === 'agent') { onAgent(f); }
  else if (f.type === 'handoff') { setHandoff(f.handoff); save(); setTyping(); }
}

function onReady(f) {
  var wasDown = conn.hadDrop;
  conn.ready = true;
  conn.everOpen = conn.everOpen || conn.mode === 'ws';
  conn.attempts = 0;
  conn.hadDrop = false;
  store.token = f.session;
  if (f.limits && f.limits.max_chars) { maxChars = f.limits.max_chars; input.maxLength = maxChars; }
  starters = Array.isArray(f.starters) ? f.starters : [];
  var p = f.portal || {};
  if (p.status && T.portal[p.status]) {
    portalNote.textContent = fmt(T.portal[p.status], { g: p.gemeente || '' });
    portalNote.hidden = false;
    portalNote.classList.toggle('kw-portal--warn', p.status !== 'ok');
  } else {
    portalNote.hidden = true;
    portalNote.textContent = '';
  }
  reconcile(f.history);
  setHandoff(f.handoff || null);
  if (wasDown) { setConn(T.reconnected, 3000); }
  save();
  flush();
  setTyping();
}

function sameItems(a, b) {
  if (a.length !== b.length) { return false; }
  for (var i = 0; i < a.length; i++) {
    if (a[i].kind !== b[i].kind || a[i].text !== b[i].text ||
        JSON.stringify(a[i].buttons || []) !== JSON.stringify(b[i].buttons || [])) { return false; }
  }
  return true;
}

function reconcile(history) {
  if (!Array.isArray(history)) { renderStarters(); return; }  // not available now: keep what we show
  var seen = {};
  var fromServer = history.map(function (h) {
    var kind = h.from === 'user' ? 'user' : 'bot';
    if (kind === 'user') { seen[h.id] = true; }
    return { kind: kind, id: h.id, text: h.text || '', buttons: h.buttons || [], image: h.image, agent: h.agent,
    sources: h.sources, checked: h.checked };
  });
  // Messages the gateway already has are not sent again.
  store.outbox = store.outbox.filter(function (frame) { return !(frame.id && seen[frame.id]); });
  var pending = {};
  store.outbox.forEach(function (frame) { if (frame.id) { pending[frame.id] = true; } });
  var local = store.items.filter(function (i) { return i.kind === 'user' && pending[i.id]; });
  var next = fromServer.concat(local);
  Object.keys(seen).forEach(function (id) { answered[id] = true; });
  store.items.forEach(function (i) {  // the gateway has these: no longer "wordt verstuurd"
    if (i.kind === 'user' && seen[i.id] && (i.status === 'queued' || i.status === 'sending')) {
      i.status = 'sent';
      updateUser(i);
    }
  });
  var localComparable = store.items.filter(function (i) { return i.status !== 'failed'; });
  if (!sameItems(localComparable, next) || localComparable.length !== store.items.length) {
    store.items = next;
    renderAll();
  } else {
    renderStarters();
  }
}

function flush() {
  if (!conn.ready) { return; }
  store.outbox.forEach(function (frame) {
    var item = findItem(frame.id);
    if (item && item.status === 'queued') { item.status = 'sending'; updateUser(item); }
  });
  if (conn.mode === 'ws') {
    store.outbox.forEach(function (frame) { transmit(frame); });
  } else {
    httpFlush();
  }
}

function onAck(f) {
  var item = findItem(f.id);
  if (!item) { return; }
  item.status = 'sent';
  if (typeof f.text === 'string' && f.text && item.text !== f.text) { item.text = f.text; }
  if (Array.isArray(f.masked) && f.masked.length) {
    var what = f.masked.map(function (k) { return T.masked[k] || k; });
    var joined = what.length > 1 ? what.slice(0, -1).join(', ') + ' en ' + what[what.length - 1] : what[0];
    item.note = fmt(T.maskedNote, { what: joined });
  }
  updateUser(item);
  save();
}

function onReply(f) {
  var id = f.id;
  dropFromOutbox(id);
  var item = findItem(id);
  if (!item) { save(); setTyping(); return; }  // a late answer from a conversation that was wiped
  if (item.status !== 'sent') { item.status = 'sent'; updateUser(item); }
  if (answered[id]) { save(); setTyping(); return; }  // already shown (a resend after reconnect)
  answered[id] = true;
  var first = null;
  (f.messages || []).forEach(function (m, i) {
    var node = append({ kind: 'bot', id: 'r-' + id + '-' + i, text: m.text || '', buttons: m.buttons || [], image: m.image, agent: m.agent,
      sources: m.sources, checked: m.checked });
    first = first || node;
  });
  save();
  setTyping();
  if (first) { scrollTo(first); }
}

function onAgent(f) {
  // Helpdesk messages carry the id they have in the history: each is shown once, also when
  // the push and a reconnect's history both bring it.
  var first = null;
  (f.messages || []).forEach(function (m) {
    var id = typeof m.id === 'string' && m.id ? m.id : 'a-' + newId();
    if (hasItem(id)) { return; }
    var node = append({ kind: 'bot', id: id, text: m.text || '', buttons: m.buttons || [], agent: m.agent });
    first = first || node;
  });
  save();
  if (first) { scrollTo(first); }
}

function onError(f) {
  var message = typeof f.message === 'string' ? f.message : '';
  if (f.code === 'session_expired' || f.code === 'hello_required') {
    store.token = f.code === 'session_expired' ? null : store.token;
    conn.ready = false;
    save();
    reconnectSoon(0);
    return;
  }
  if (f.id) {
    var frame = null;
    store.outbox.forEach(function (o) { if (o.id === f.id) { frame = o; } });
    dropFromOutbox(f.id);
    var item = findItem(f.id);
    if (item) {
      item.status = 'failed';
      item.error = message;
      if (f.code === 'unavailable' || f.code === 'incomplete' || f.code === 'rate_limited') { item.retry = frame; }
      updateUser(item);
    }
    save();
  }
  if (message) { setAlert(message); }
  setTyping();
}
