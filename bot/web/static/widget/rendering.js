// Rendering of the conversation: messages, their status, buttons, starters, scrolling, the
// handoff banner, the typing indicator and the status lines.

function renderItem(item) {
  var wrap = el('div', 'kw-msg kw-msg--' + (item.kind === 'user' ? 'user' : 'bot'));
  wrap.setAttribute('data-id', item.id || '');
  if (item.kind === 'user') {
    var bubble = el('div', 'kw-bubble');
    bubble.appendChild(srOnly(T.you));
    bubble.appendChild(el('span', 'kw-text', item.text));
    wrap.appendChild(bubble);
    var meta = el('p', 'kw-meta');
    meta.hidden = true;
    wrap.appendChild(meta);
    renderUserMeta(wrap, item);
  } else {
    if (item.agent) {
      wrap.classList.add('kw-msg--agent');
      wrap.appendChild(el('p', 'kw-who', T.agent + ' ' + item.agent));
    }
    if (item.text || item.image) {
      var b = el('div', 'kw-bubble');
      b.appendChild(srOnly(item.agent ? T.agent + ' ' + item.agent + ': ' : T.bot));
      if (item.text) { rich(b, item.text); }
      if (item.sources && item.sources.length) { b.appendChild(sourceLine(item.sources, item.checked)); }
      if (item.image) { var ip = el('p'); link(ip, T.image, item.image); b.appendChild(ip); }
      wrap.appendChild(b);
    }
    if (item.buttons && item.buttons.length) {
      wrap.appendChild(choiceGroup(item.buttons, T.choices));
    }
  }
  return wrap;
}

// "Bron: <link>; <link> (gecontroleerd op 27-11-2026)" from the answer's sources (data).
function sourceLine(sources, checked) {
  var p = el('p', 'kw-source', T.source);
  sources.forEach(function (s, i) {
    if (!s || typeof s.title !== 'string' || typeof s.url !== 'string') { return; }
    if (i > 0) { p.appendChild(document.createTextNode('; ')); }
    link(p, s.title, s.url);
  });
  var d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(checked || '');
  if (d) { p.appendChild(document.createTextNode(fmt(T.checked, { d: (+d[3]) + '-' + (+d[2]) + '-' + d[1] }))); }
  return p;
}

function renderUserMeta(wrap, item) {
  var meta = wrap.querySelector('.kw-meta');
  var text = wrap.querySelector('.kw-text');
  if (text.textContent !== item.text) { text.textContent = item.text; }
  while (meta.firstChild) { meta.removeChild(meta.firstChild); }
  wrap.classList.toggle('kw-msg--failed', item.status === 'failed');
  var note = '';
  if (item.status === 'queued') { note = T.queued; }
  else if (item.status === 'failed') { note = (item.error || T.failed); }
  else if (item.note) { note = item.note; }
  if (note) { meta.appendChild(document.createTextNode(note)); }
  if (item.status === 'failed' && item.retry) {
    var again = el('button', 'kw-btn kw-retry', T.retry);
    again.type = 'button';
    again.addEventListener('click', function () { retry(item.id); });
    meta.appendChild(document.createTextNode(' '));
    meta.appendChild(again);
  }
  meta.hidden = !meta.firstChild;
}

function choiceGroup(buttons, label) {
  var group = el('div', 'kw-buttons');
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', label);
  buttons.forEach(function (b) {
    if (!b || typeof b.title !== 'string' || typeof b.payload !== 'string') { return; }
    var btn = el('button', 'kw-choice', b.title);
    btn.type = 'button';
    btn.addEventListener('click', function () { sendChoice(b); });
    group.appendChild(btn);
  });
  return group;
}

function findNode(id) {
  var nodes = logEl.querySelectorAll('.kw-msg--user');
  for (var i = 0; i < nodes.length; i++) { if (nodes[i].getAttribute('data-id') === id) { return nodes[i]; } }
  return null;
}

function updateUser(item) {
  var node = findNode(item.id);
  if (node) { renderUserMeta(node, item); }
}

function renderAll() {
  logEl.setAttribute('aria-busy', 'true');
  while (logEl.firstChild) { logEl.removeChild(logEl.firstChild); }
  store.items.forEach(function (item) { logEl.appendChild(renderItem(item)); });
  logEl.removeAttribute('aria-busy');
  renderStarters();
  scrollDown();
}
function append(item) {
  store.items.push(item);
  var node = renderItem(item);
  logEl.appendChild(node);
  renderStarters();
  scrollDown();
  return node;
}
function renderStarters() {
  while (starterBox.firstChild) { starterBox.removeChild(starterBox.firstChild); }
  var show = store.items.length === 0 && starters.length > 0;
  if (show) {
    starters.forEach(function (b) {
      var btn = el('button', 'kw-choice', b.title);
      btn.type = 'button';
      btn.addEventListener('click', function () { sendChoice(b); });
      starterBox.appendChild(btn);
    });
  }
  starterBox.hidden = !show;
}
function scrollTop(top) {
  if (body.scrollTo && !reduceMotion) { body.scrollTo({ top: top, behavior: 'smooth' }); }
  else { body.scrollTop = top; }
}
function scrollDown() {
  if (body) { scrollTop(body.scrollHeight); }
}
// A new answer: show its beginning (long answers are read from the top), else the end.
function scrollTo(node) {
  var max = body.scrollHeight - body.clientHeight;
  var top = node.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop - 8;
  scrollTop(Math.max(0, Math.min(top, max)));
}
function setHandoff(h) {
  store.handoff = h && typeof h === 'object' && h.state ? h : null;
  var live = store.handoff && store.handoff.state === 'live' && store.handoff.agent;
  var text = !store.handoff ? '' : (live ? fmt(T.handoffLive, { name: store.handoff.agent }) : T.handoffWaiting);
  if (handoffEl.textContent !== text) { handoffEl.textContent = text; }
  handoffEl.hidden = !text;
  handoffEl.classList.toggle('kw-handoff--live', !!live);
  subtitleEl.textContent = live ? fmt(T.subtitleLive, { name: store.handoff.agent }) : T.subtitle;
}
function staffed() {
  return !!store.handoff && store.handoff.state !== 'wachtrij';
}
function setTyping() {
  // While a medewerker has the conversation, the assistant does not answer: no "typing". While
  // the question waits for the helpdesk the assistant still answers.
  var waiting = conn.ready && store.outbox.length > 0 && !staffed();
  typingEl.hidden = !waiting;
  if (waiting) { scrollDown(); }
}
var connTimer = null;
function setConn(text, clearAfter) {
  if (connTimer) { window.clearTimeout(connTimer); connTimer = null; }
  connEl.textContent = text || '';
  connEl.classList.toggle('kw-conn--active', !!text && !clearAfter);
  if (text && clearAfter) {
    connTimer = window.setTimeout(function () { connEl.textContent = ''; }, clearAfter);
  }
}
function setAlert(text) {
  alertEl.textContent = text || '';
}
