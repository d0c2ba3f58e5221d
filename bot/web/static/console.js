/*
 * Helpdesk console: live updates over /helpdesk/ws and replies without a page load.
 *
 * The pages work without this script (plain forms); this adds:
 *  - the queue page: the tables follow the queue live, waiting times tick;
 *  - the ticket page: new messages, notes and status changes appear live; replies and notes
 *    are sent with fetch; standard replies can be inserted.
 * All text from the server is put in the page with textContent, never as HTML.
 */
(function () {
  'use strict';

  var csrf = document.body.getAttribute('data-csrf') || '';
  if (!csrf) { return; }

  var LABELS = { gebruiker: 'Gebruiker', assistent: 'Assistent', medewerker: 'Medewerker', systeem: 'Systeem' };
  var T = {
    live: 'Deze pagina wordt live bijgewerkt.',
    reconnecting: 'Verbinding herstellen\u2026',
    newQuestion: 'Er is een nieuwe vraag in de wachtrij.',
    sending: 'Versturen\u2026',
    sent: 'Verstuurd.',
    failed: 'Versturen is niet gelukt. Probeer het opnieuw.',
    stateChanged: 'De status is gewijzigd: {s}. ',
    reload: 'Vernieuw de pagina',
    reloadAfter: ' om de acties bij te werken.',
    notKnown: 'Niet bekend',
    yes: 'Ja', no: 'Nee',
    open: 'Bekijken',
    noteSaved: 'Je notitie is opgeslagen.',
    helpdeskOpen: 'De helpdesk is nu open.',
    helpdeskClosed: 'De helpdesk is nu gesloten.'
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) { out += ('0' + bytes[i].toString(16)).slice(-2); }
    return out;
  }
  var timeFmt = null;
  try {
    timeFmt = new Intl.DateTimeFormat('nl-NL', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Amsterdam' });
  } catch (e) { timeFmt = null; }
  function clock(isoText) {
    var d = new Date(isoText);
    if (isNaN(d.getTime())) { return ''; }
    return timeFmt ? timeFmt.format(d) : d.toTimeString().slice(0, 5);
  }
  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return 'minder dan 1 minuut'; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + ' min'; }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) { return minutes ? hours + ' uur ' + minutes + ' min' : hours + ' uur'; }
    return Math.floor(hours / 24) + ' d ' + (hours % 24) + ' uur';
  }

  var liveEl = $('live-status');
  var ticketEl = $('ticket');
  var ticketId = ticketEl ? ticketEl.getAttribute('data-ticket') : null;
  var state = ticketEl ? ticketEl.getAttribute('data-state') : null;
  var serverOffset = 0;  // server time minus browser time, in ms

  function lastSeq() {
    var items = document.querySelectorAll('#berichten [data-seq]');
    var max = ticketEl ? parseInt(ticketEl.getAttribute('data-after') || '0', 10) : 0;
    for (var i = 0; i < items.length; i++) {
      var s = parseInt(items[i].getAttribute('data-seq'), 10);
      if (s > max) { max = s; }
    }
    return max;
  }

  // ---- queue page ---------------------------------------------------------------------

  var knownWaiting = null;

  function cell(row, text) { var td = el('td', null, text); row.appendChild(td); return td; }
  function openLink(row, id, topic) {
    var td = el('td');
    var a = el('a', null, T.open);
    a.href = '/helpdesk/vraag/' + encodeURIComponent(id);
    a.setAttribute('aria-label', T.open + ': ' + topic);
    td.appendChild(a);
    row.appendChild(td);
  }

  function renderQueue(f) {
    var body = $('wachtrij-rijen');
    if (!body) { return; }
    if (f.nu) { serverOffset = new Date(f.nu).getTime() - Date.now(); }
    var waiting = Array.isArray(f.wachtrij) ? f.wachtrij : [];
    var active = Array.isArray(f.actief) ? f.actief : [];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    waiting.forEach(function (q) {
      var tr = el('tr');
      tr.setAttribute('data-id', q.id);
      cell(tr, q.onderwerp);
      cell(tr, q.gemeente || T.notKnown);
      var wait = cell(tr, duration(q.wachttijd_s || 0));
      wait.setAttribute('data-sinds', q.aangemaakt || '');
      cell(tr, q.contact ? T.yes : T.no);
      openLink(tr, q.id, q.onderwerp);
      body.appendChild(tr);
    });
    $('wachtrij-aantal').textContent = String(waiting.length);
    $('wachtrij-leeg').hidden = waiting.length > 0;
    var abody = $('actief-rijen');
    while (abody.firstChild) { abody.removeChild(abody.firstChild); }
    active.forEach(function (t) {
      var tr = el('tr');
      tr.setAttribute('data-id', t.id);
      cell(tr, t.onderwerp);
      cell(tr, t.status_label);
      cell(tr, t.medewerker || '');
      cell(tr, t.gemeente || T.notKnown);
      openLink(tr, t.id, t.onderwerp);
      abody.appendChild(tr);
    });
    $('actief-aantal').textContent = String(active.length);
    $('actief-leeg').hidden = active.length > 0;
    var ids = waiting.map(function (q) { return q.id; });
    if (knownWaiting !== null && ids.some(function (id) { return knownWaiting.indexOf(id) === -1; })) {
      say(T.newQuestion);
    }
    knownWaiting = ids;
    var openEl = $('open-status');
    if (openEl && typeof f.open === 'boolean' && f.open) { openEl.textContent = T.helpdeskOpen; }
  }

  function tick() {
    var cells = document.querySelectorAll('[data-sinds]');
    var now = Date.now() + serverOffset;
    for (var i = 0; i < cells.length; i++) {
      var since = new Date(cells[i].getAttribute('data-sinds')).getTime();
      if (!isNaN(since)) {
        var text = duration((now - since) / 1000);
        if (cells[i].textContent !== text) { cells[i].textContent = text; }
      }
    }
  }

  // ---- ticket page --------------------------------------------------------------------

  // The transcript scrolls inside #gesprek (a tab stop, so keyboard users can scroll it).
  // A new message only scrolls it along when the reader was already at the end: someone
  // reading back, with the mouse or the keyboard, keeps their place. Focus is never moved.
  function atEnd(log) { return log.scrollHeight - log.scrollTop - log.clientHeight < 24; }

  function appendMessage(m, follow) {
    var list = $('berichten');
    if (!list || typeof m.seq !== 'number') { return; }
    if (list.querySelector('[data-seq="' + m.seq + '"]')) { return; }  // already shown
    var log = $('gesprek');
    follow = follow || (log && atEnd(log));
    var li = el('li', 'c-msg c-msg--' + (LABELS[m.afzender] ? m.afzender : 'systeem'));
    li.setAttribute('data-seq', String(m.seq));
    var who = el('p', 'c-msg__who', (LABELS[m.afzender] || m.afzender) + (m.auteur ? ' ' + m.auteur : '') + ' ');
    var time = el('time', null, clock(m.tijd));
    time.setAttribute('datetime', m.tijd || '');
    who.appendChild(time);
    li.appendChild(who);
    li.appendChild(el('p', 'c-msg__text', m.tekst));
    // Keep seq order even if frames arrive out of order.
    var after = null;
    var items = list.children;
    for (var i = 0; i < items.length; i++) {
      if (parseInt(items[i].getAttribute('data-seq'), 10) > m.seq) { after = items[i]; break; }
    }
    list.insertBefore(li, after);
    if (log && follow) { log.scrollTop = log.scrollHeight; }
  }

  function appendNote(n) {
    var list = $('notities');
    if (!list || list.querySelector('[data-note="' + n.id + '"]')) { return; }
    var li = el('li');
    li.setAttribute('data-note', String(n.id));
    var who = el('p', 'c-msg__who', (n.auteur || '') + ' ');
    var time = el('time', null, clock(n.tijd));
    time.setAttribute('datetime', n.tijd || '');
    who.appendChild(time);
    li.appendChild(who);
    li.appendChild(el('p', 'c-msg__text', n.tekst));
    list.appendChild(li);
    var none = $('geen-notities');
    if (none) { none.hidden = true; }
  }

  function onTicket(t) {
    if (!t || t.id !== ticketId) { return; }
    var status = $('ticket-status');
    if (status) { status.textContent = t.status_label + (t.medewerker ? ' (' + t.medewerker + ')' : ''); }
    if (t.status !== state) {
      var box = $('ticket-melding');
      if (box) {
        while (box.firstChild) { box.removeChild(box.firstChild); }
        box.appendChild(document.createTextNode(T.stateChanged.replace('{s}', t.status_label)));
        var a = el('a', null, T.reload);
        a.href = location.pathname;
        box.appendChild(a);
        box.appendChild(document.createTextNode(T.reloadAfter));
      }
    }
  }

  // ---- forms (fetch) --------------------------------------------------------------------

  function post(form, extra) {
    var data = new URLSearchParams();
    var fields = form.querySelectorAll('input[name], textarea[name], select[name]');
    for (var i = 0; i < fields.length; i++) { data.append(fields[i].name, fields[i].value); }
    Object.keys(extra || {}).forEach(function (k) { data.set(k, extra[k]); });
    return window.fetch(form.action, {
      method: 'POST',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: data,
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (resp) {
      return resp.json().then(function (body) { return { status: resp.status, body: body || {} }; },
        function () { return { status: resp.status, body: {} }; });
    });
  }

  function setupReply() {
    var form = $('antwoord-form');
    if (!form) { return; }
    var text = $('antwoord');
    var status = $('antwoord-status');
    var button = form.querySelector('button[type="submit"]');
    var pendingId = null, pendingText = null;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var value = text.value.replace(/^\s+|\s+$/g, '');
      if (!value) { status.textContent = 'Je bericht is leeg. Typ eerst een tekst.'; text.focus(); return; }
      if (pendingText !== value) { pendingId = newId(); pendingText = value; }  // a retry keeps its id
      button.disabled = true;
      status.textContent = T.sending;
      post(form, { client_id: pendingId, tekst: value }).then(function (r) {
        button.disabled = false;
        if (r.status === 200 && r.body.ok) {
          if (r.body.bericht) { appendMessage(r.body.bericht, true); }  // your own reply: show it
          text.value = '';
          pendingId = pendingText = null;
          status.textContent = r.body.afgeleverd === false ? r.body.melding : T.sent;
          text.focus();
        } else {
          status.textContent = r.body.melding || r.body.fout || T.failed;
        }
      }).catch(function () {
        button.disabled = false;
        status.textContent = T.failed;
      });
    });
    text.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    var select = $('standaard');
    var insert = $('standaard-invoegen');
    if (select && insert) {
      insert.hidden = false;
      insert.addEventListener('click', function () {
        var opt = select.options[select.selectedIndex];
        var canned = opt ? opt.getAttribute('data-tekst') : '';
        if (!canned) { select.focus(); return; }
        text.value = text.value ? text.value.replace(/\s+$/, '') + '\n' + canned : canned;
        text.focus();
      });
    }
  }

  function setupNote() {
    var form = $('notitie-form');
    if (!form) { return; }
    var text = $('notitie');
    var status = $('notitie-status');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!text.value.replace(/\s+/g, '')) { text.focus(); return; }
      post(form).then(function (r) {
        if (r.status === 200 && r.body.ok) {
          if (r.body.notitie) { appendNote(r.body.notitie); }
          text.value = '';
          status.textContent = T.noteSaved;
        } else {
          status.textContent = r.body.melding || r.body.fout || T.failed;
        }
      }).catch(function () { status.textContent = T.failed; });
    });
  }

  // ---- WebSocket ------------------------------------------------------------------------

  var ws = null, attempts = 0, everOpen = false, lastSaid = '';

  function say(text) {
    if (liveEl && text !== lastSaid) { liveEl.textContent = text; lastSaid = text; }
  }

  function connect() {
    var url = location.origin.replace(/^http/, 'ws') + '/helpdesk/ws';
    try { ws = new WebSocket(url); } catch (e) { retry(); return; }
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: 'hello', csrf: csrf, ticket: ticketId, after: lastSeq() }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (!f || typeof f.type !== 'string') { return; }
      if (f.type === 'ready') { attempts = 0; everOpen = true; say(T.live); }
      else if (f.type === 'queue') { renderQueue(f); }
      else if (f.type === 'messages' && f.ticket === ticketId) {
        (f.messages || []).forEach(function (m) { appendMessage(m, false); });
      }
      else if (f.type === 'ticket') { onTicket(f.ticket); }
      else if (f.type === 'note' && f.ticket === ticketId) { appendNote(f.note); }
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === 1008 || (!everOpen && attempts > 5)) {
        // Session or token no longer valid: a reload shows the login page.
        if (ev.code === 1008) { location.reload(); return; }
      }
      retry();
    };
  }

  function retry() {
    say(T.reconnecting);
    var delay = Math.min(8000, 300 * Math.pow(2, attempts));
    attempts += 1;
    window.setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
  }

  // Open the transcript at its latest message, as the live updates keep it.
  var logEl = $('gesprek');
  if (logEl) { logEl.scrollTop = logEl.scrollHeight; }
  setupReply();
  setupNote();
  if ($('wachtrij-rijen')) { window.setInterval(tick, 15000); }
  connect();
  window.setInterval(function () {
    if (ws && ws.readyState === 1) { ws.send('{"type":"ping"}'); }
  }, 30000);
})();
