// Transport: a WebSocket that reconnects with backoff; plain HTTP (/chat/http) as the fallback
// when WebSockets never work on this page.

var conn = { ws: null, mode: transportPref === 'http' ? 'http' : 'ws', ready: false, connecting: false,
  attempts: 0, wsFailures: 0, everOpen: false, hadDrop: false, timer: null, wanted: false, httpBusy: false };

function hello() {
  return { type: 'hello', session: store.token || null, portal_token: portalToken || null };
}

function ensureConnected() {
  conn.wanted = true;
  if (conn.ready || conn.connecting || conn.timer) { return; }
  connect();
}

function connect() {
  conn.timer = null;
  if (conn.mode === 'ws') { connectWs(); } else { connectHttp(); }
}

function reconnectSoon(delay) {
  if (conn.timer) { return; }
  conn.timer = window.setTimeout(connect, delay);
}

function dropped() {
  conn.ready = false;
  conn.connecting = false;
  conn.hadDrop = true;
  typingEl.hidden = true;
  store.items.forEach(function (item) {
    if (item.kind === 'user' && item.status === 'sending') { item.status = 'queued'; updateUser(item); }
  });
  if (conn.wanted) {
    setConn(T.reconnecting);
    var delay = Math.min(8000, 300 * Math.pow(2, conn.attempts));
    conn.attempts += 1;
    reconnectSoon(delay * (0.8 + Math.random() * 0.4));
  }
}

function connectWs() {
  var ws, opened = false;
  conn.connecting = true;
  try {
    ws = new WebSocket(base.replace(/^http/, 'ws') + '/chat/ws');
  } catch (e) {
    conn.ws = null;
    dropped();
    return;
  }
  conn.ws = ws;
  ws.onopen = function () {
    opened = true;
    conn.wsFailures = 0;
    ws.send(JSON.stringify(hello()));
  };
  ws.onmessage = function (ev) {
    if (typeof ev.data !== 'string') { return; }
    var f;
    try { f = JSON.parse(ev.data); } catch (e) { return; }
    if (f && f.type === 'ready') { conn.connecting = false; }
    onFrame(f);
  };
  ws.onclose = function () {
    if (conn.ws !== ws) { return; }
    conn.ws = null;
    if (!opened) {
      conn.wsFailures += 1;
      // WebSockets never worked on this page (a proxy may block them): try plain HTTP.
      if (transportPref === 'auto' && !conn.everOpen && conn.wsFailures >= 2) {
        conn.connecting = false;
        probeHttp();
        return;
      }
    }
    dropped();
  };
}

function post(frame) {
  var bodyFrame = {};
  Object.keys(frame).forEach(function (k) { bodyFrame[k] = frame[k]; });
  if (frame.type !== 'hello') { bodyFrame.session = store.token; }
  return window.fetch(base + '/chat/http', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(bodyFrame),
    credentials: 'omit',
    mode: 'cors',
    cache: 'no-store'
  }).then(function (resp) {
    return resp.json().then(function (data) { return { status: resp.status, frames: (data && data.frames) || [] }; });
  });
}

function probeHttp() {
  conn.connecting = true;
  post(hello()).then(function (r) {
    if (r.status !== 200) { throw new Error('status ' + r.status); }
    conn.mode = 'http';
    conn.connecting = false;
    r.frames.forEach(onFrame);
  }).catch(function () { dropped(); });
}

function connectHttp() {
  conn.connecting = true;
  post(hello()).then(function (r) {
    conn.connecting = false;
    if (r.status !== 200) { throw new Error('status ' + r.status); }
    r.frames.forEach(onFrame);
  }).catch(function () { dropped(); });
}

function httpFlush() {
  if (conn.httpBusy || !conn.ready || !store.outbox.length) { return; }
  conn.httpBusy = true;
  var frame = store.outbox[0];
  typingEl.hidden = false;
  post(frame).then(function (r) {
    conn.httpBusy = false;
    r.frames.forEach(onFrame);
    if (store.outbox.length && store.outbox[0] === frame && r.status !== 200) {
      dropFromOutbox(frame.id);  // an error frame without id: do not loop
    }
    httpFlush();
  }).catch(function () {
    conn.httpBusy = false;
    dropped();
  });
}

function transmit(frame) {
  if (conn.mode === 'ws') {
    if (conn.ws && conn.ws.readyState === 1) {
      conn.ws.send(JSON.stringify(frame));
    }
    return;  // otherwise the frame stays in the outbox and goes after the next hello
  }
  if (frame.type === 'reset') {
    post(frame).then(function (r) { r.frames.forEach(onFrame); }).catch(function () { dropped(); });
    return;
  }
  httpFlush();
}
