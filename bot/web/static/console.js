/*
 * Helpdesk console: live updates over /helpdesk/ws and replies without a page load.
 *
 * The pages work without this script (plain forms); this adds:
 *  - the queue page: the tables follow the queue live, waiting times tick;
 *  - the ticket page: new messages, notes and status changes appear live; replies and notes
 *    are sent with fetch; standard replies can be inserted.
 * The server renders every piece of the page that changes (bot/web/console/fragments.py: the
 * pages' own partial templates, all text escaped by Jinja2); this script only parses those
 * fragments inert and inserts or replaces them. It builds no markup of its own, and its few
 * status texts are data-* attributes in the templates (only the ticking waiting time's words
 * are here, in duration()).
 */
(function () {
  'use strict';

  var csrf = document.body.getAttribute('data-csrf') || '';
  if (!csrf) { return; }

  function $(id) { return document.getElementById(id); }
  // The script's own status texts are in the page, on the element they are shown in
  // (data-* attributes in the templates), so that all Dutch lives in the templates.
  function word(el, name) { return (el && el.getAttribute('data-' + name)) || ''; }
  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) { out += ('0' + bytes[i].toString(16)).slice(-2); }
    return out;
  }
  // The same words as the server's duration() (bot/web/console/render.py), for the ticking
  // waiting times between two queue updates.
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

  // ---- server-rendered fragments --------------------------------------------------------

  // A fragment from the server, parsed by DOMParser into a document of its own: inert (no
  // script runs, nothing loads), and the page's CSP applies to what is moved into the page.
  // Its text was escaped by the server; nothing is added to it here. Returns the <body>.
  var parser = new DOMParser();
  function parse(html) {
    return parser.parseFromString(typeof html === 'string' ? html : '', 'text/html').body;
  }
  function elements(html) { return Array.prototype.slice.call(parse(html).children); }
  function fill(target, html) {
    var body = parse(html);
    if (target && target.textContent !== body.textContent) {
      target.replaceChildren.apply(target, Array.prototype.slice.call(body.childNodes));
    }
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

  // A row compared without its waiting time, which ticks in the page.
  function rowKey(row) {
    var copy = row.cloneNode(true);
    var cells = copy.querySelectorAll('[data-sinds]');
    for (var i = 0; i < cells.length; i++) { cells[i].textContent = ''; }
    return copy.outerHTML;
  }
  function rowById(body, id) {
    for (var row = body.firstElementChild; row; row = row.nextElementSibling) {
      if (row.getAttribute('data-id') === id) { return row; }
    }
    return null;
  }

  // Make a table body show the rows (<tr data-id>) of the server's table, in its order. A row
  // that did not change stays the same element, so focus on its link is kept; a focused row
  // that changed passes the focus to its new link. Returns the ids.
  function syncRows(body, html) {
    var rows = Array.prototype.slice.call(parse(html).querySelectorAll('tbody > tr[data-id]'));
    var ids = rows.map(function (r) { return r.getAttribute('data-id'); });
    Array.prototype.slice.call(body.children).forEach(function (old) {
      if (ids.indexOf(old.getAttribute('data-id')) === -1) { body.removeChild(old); }
    });
    var cursor = body.firstElementChild;
    rows.forEach(function (row) {
      var old = rowById(body, row.getAttribute('data-id'));
      if (old && old === cursor && rowKey(old) === rowKey(row)) { cursor = old.nextElementSibling; return; }
      var focused = old && old.contains(document.activeElement);
      if (old) {
        if (old === cursor) { cursor = old.nextElementSibling; }
        body.removeChild(old);
      }
      body.insertBefore(row, cursor);
      var link = focused && row.querySelector('a');
      if (link) { link.focus({ preventScroll: true }); }
    });
    return ids;
  }

  function onQueue(f) {
    var body = $('wachtrij-rijen');
    var abody = $('actief-rijen');
    if (!body || !abody || !f.html) { return; }
    if (f.nu) { serverOffset = new Date(f.nu).getTime() - Date.now(); }
    var ids = syncRows(body, f.html.wachtrij);
    $('wachtrij-aantal').textContent = String(ids.length);
    $('wachtrij-leeg').hidden = ids.length > 0;
    var active = syncRows(abody, f.html.actief);
    $('actief-aantal').textContent = String(active.length);
    $('actief-leeg').hidden = active.length > 0;
    if (knownWaiting !== null && ids.some(function (id) { return knownWaiting.indexOf(id) === -1; })) {
      say(word(liveEl, 'new-question'));
    }
    knownWaiting = ids;
    fill($('open-status'), f.html.open);
    tick();
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
  // New messages only scroll it along when the reader was already at the end: someone
  // reading back, with the mouse or the keyboard, keeps their place. Focus is never moved.
  function atEnd(log) { return log.scrollHeight - log.scrollTop - log.clientHeight < 24; }

  // Transcript lines (<li data-seq>) in seq order, each once.
  function addMessages(html, follow) {
    var list = $('berichten');
    if (!list) { return; }
    var log = $('gesprek');
    follow = follow || (log && atEnd(log));
    elements(html).forEach(function (li) {
      var seq = parseInt(li.getAttribute('data-seq'), 10);
      if (isNaN(seq) || list.querySelector('[data-seq="' + seq + '"]')) { return; }  // already shown
      var after = null;
      for (var item = list.firstElementChild; item; item = item.nextElementSibling) {
        if (parseInt(item.getAttribute('data-seq'), 10) > seq) { after = item; break; }
      }
      list.insertBefore(li, after);
    });
    if (log && follow) { log.scrollTop = log.scrollHeight; }
  }

  // Internal notes (<li data-note>), each once.
  function addNotes(html) {
    var list = $('notities');
    if (!list) { return; }
    elements(html).forEach(function (li) {
      var id = parseInt(li.getAttribute('data-note'), 10);
      if (isNaN(id) || list.querySelector('[data-note="' + id + '"]')) { return; }
      list.appendChild(li);
    });
    var none = $('geen-notities');
    if (none) { none.hidden = list.children.length > 0; }
  }

  function onTicket(f) {
    if (!f.ticket || f.ticket.id !== ticketId || !f.html) { return; }
    fill($('ticket-status'), f.html.status);
    // The page's buttons belong to the status it was loaded with: say so, with a reload link.
    if (f.ticket.status !== state) { fill($('ticket-melding'), f.html.gewijzigd); }
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
      if (!value) { status.textContent = word(status, 'empty'); text.focus(); return; }
      if (pendingText !== value) { pendingId = newId(); pendingText = value; }  // a retry keeps its id
      button.disabled = true;
      status.textContent = word(status, 'sending');
      post(form, { client_id: pendingId, tekst: value }).then(function (r) {
        button.disabled = false;
        if (r.status === 200 && r.body.ok) {
          addMessages(r.body.html, true);  // your own reply: show it, and follow it
          text.value = '';
          pendingId = pendingText = null;
          status.textContent = r.body.afgeleverd === false ? r.body.melding : word(status, 'sent');
          text.focus();
        } else {
          status.textContent = r.body.melding || r.body.fout || word(status, 'failed');
        }
      }).catch(function () {
        button.disabled = false;
        status.textContent = word(status, 'failed');
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

  // The ticket's mails and their status (wacht, verstuurd, mislukt), replaced as a whole.
  function onMails(html) {
    var list = $('mail-geschiedenis');
    if (!list) { return; }
    fill(list, html);
    var title = $('mails-titel');
    if (title) { title.hidden = !list.children.length; }
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
          addNotes(r.body.html);
          text.value = '';
          status.textContent = word(status, 'saved');
        } else {
          status.textContent = r.body.melding || r.body.fout || word(status, 'failed');
        }
      }).catch(function () { status.textContent = word(status, 'failed'); });
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
      if (f.type === 'ready') { attempts = 0; everOpen = true; say(word(liveEl, 'live')); }
      else if (f.type === 'queue') { onQueue(f); }
      else if (f.type === 'messages' && f.ticket === ticketId) { addMessages(f.html, false); }
      else if (f.type === 'ticket') { onTicket(f); }
      else if (f.type === 'note' && f.ticket === ticketId) { addNotes(f.html); }
      else if (f.type === 'mails' && f.ticket === ticketId) { onMails(f.html); }
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
    say(word(liveEl, 'reconnecting'));
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
