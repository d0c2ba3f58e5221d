/*
 * Kansrijke Wijk Assistent: the embeddable chat widget.
 *
 *   <script src="https://GATEWAY/static/widget.js" defer></script>
 *
 * Optional data attributes on that script tag:
 *   data-portal-token  a short-lived JWT from the applicants' portal (logged-in mode)
 *   data-open          "true": open the chat at once
 *   data-transport     "auto" (default), "websocket" or "http"
 *   data-gateway       the gateway address, when it differs from the script's origin
 *
 * Works under a strict Content-Security-Policy: no inline styles, no eval, no innerHTML; the
 * script's nonce is passed on to the stylesheet it loads. All bot text is put in the page as
 * text nodes. See docs/widget.md for the protocol and the CSP an embedding site needs.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || window.KansrijkeWijkAssistent) { return; }

  var VERSION = '1';
  var base = (script.getAttribute('data-gateway') || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  var nonce = script.nonce || script.getAttribute('nonce') || '';
  var portalToken = script.getAttribute('data-portal-token') || null;
  var transportPref = script.getAttribute('data-transport') || 'auto';
  var startOpen = script.getAttribute('data-open') === 'true';
  var STORAGE_KEY = 'kw-assistent:' + VERSION + ':' + base;
  var reduceMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  var T = {
    launcher: 'Stel je vraag',
    title: 'Kansrijke Wijk Assistent',
    subtitle: 'Digitale assistent',
    close: 'Chat sluiten',
    reset: 'Gesprek wissen',
    confirmReset: 'Wil je dit gesprek wissen en opnieuw beginnen?',
    confirmYes: 'Ja, wissen',
    confirmNo: 'Annuleren',
    introAi: 'Je praat met een digitale assistent, niet met een mens.',
    introWhat: 'Ik beantwoord vragen over de specifieke uitkering Kansrijke Wijk. Mijn antwoorden komen uit de informatie over de regeling.',
    introHuman: 'Wil je een mens spreken? Typ dan \u2018medewerker\u2019 of kies \u2018Medewerker spreken\u2019.',
    introPrivacy: 'Schrijf geen persoonlijke gegevens in de chat. ',
    privacyLink: 'Lees hoe we met je gegevens omgaan',
    newTab: ' (opent in een nieuw tabblad)',
    starters: 'Onderwerpen',
    log: 'Gesprek',
    you: 'Jij: ',
    bot: 'Assistent: ',
    agent: 'Medewerker',
    handoffLive: 'Je praat nu met {name}, medewerker van de helpdesk. Dit is een mens, geen digitale assistent.',
    handoffWaiting: 'Je vraag staat klaar voor de helpdesk. Een medewerker neemt het gesprek over zodra dat kan. Je kunt dit venster sluiten: het antwoord staat hier als je terugkomt.',
    subtitleLive: 'Medewerker: {name}',
    choices: 'Kies een vervolgvraag',
    typing: 'De assistent typt een antwoord\u2026',
    inputLabel: 'Typ je vraag',
    hint: 'Enter = versturen. Shift + Enter = nieuwe regel.',
    send: 'Versturen',
    charsLeft: 'Nog {n} tekens',
    reconnecting: 'Verbinding herstellen\u2026',
    reconnected: 'Verbinding hersteld.',
    queued: 'Wordt verstuurd zodra er weer verbinding is.',
    failed: 'Niet verstuurd.',
    retry: 'Opnieuw proberen',
    empty: 'Je bericht is leeg. Typ eerst je vraag.',
    tooLong: 'Je bericht is te lang. Je kunt maximaal {n} tekens sturen.',
    newConversation: 'Je bent een nieuw gesprek begonnen.',
    image: 'Afbeelding bekijken',
    masked: {
      email: 'e-mailadres', phone: 'telefoonnummer', bsn: 'burgerservicenummer', iban: 'IBAN'
    },
    maskedNote: 'Ik heb je {what} weggehaald om je privacy te beschermen.',
    portal: {
      ok: 'Je bent ingelogd via het portaal (gemeente {g}).',
      expired: 'Je inlog is verlopen. Log opnieuw in op het portaal als je iets over je eigen aanvraag wilt vragen. Algemene vragen kun je gewoon stellen.',
      invalid: 'We konden je inlog niet controleren. Je chat nu als bezoeker zonder inlog. Algemene vragen kun je gewoon stellen.'
    }
  };

  // ---- storage (sessionStorage: survives reload and navigation in this tab) ----------------

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

  // ---- DOM helpers ------------------------------------------------------------------------

  var SVGNS = 'http://www.w3.org/2000/svg';
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function icon(path) {
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '24');
    svg.setAttribute('height', '24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var p = document.createElementNS(SVGNS, 'path');
    p.setAttribute('d', path);
    svg.appendChild(p);
    return svg;
  }
  function srOnly(text) { return el('span', 'kw-sr', text); }
  function fmt(s, values) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? String(values[k]) : ''; });
  }
  function newId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) { out += ('0' + bytes[i].toString(16)).slice(-2); }
    return out;
  }
  function safeUrl(url) {
    try {
      var u = new URL(url, location.href);
      if (u.protocol === 'https:' || u.protocol === 'http:' || u.protocol === 'mailto:') { return u.href; }
    } catch (e) { /* not a URL */ }
    return null;
  }
  function link(parent, text, url) {
    var href = safeUrl(url);
    if (!href) { parent.appendChild(document.createTextNode(text)); return; }
    var a = el('a', 'kw-link', text);
    a.href = href;
    if (!/^mailto:/i.test(href)) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.appendChild(srOnly(T.newTab));
    }
    parent.appendChild(a);
  }

  // ---- markdown-lite: **bold**, lists, [links](https://...), bare URLs, "Bron:" line ---------

  var INLINE = /\*\*([^*\n]+?)\*\*|\[([^\]\n]{1,300})\]\(((?:https?:\/\/|mailto:)[^\s()]+(?:\([^\s()]*\))?[^\s()]*)\)|((?:https?:\/\/|www\.)[^\s<>"'\u00a0]+)/g;

  function inline(parent, text, inBold) {
    var last = 0, m;
    var re = new RegExp(INLINE.source, 'g');
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) { parent.appendChild(document.createTextNode(text.slice(last, m.index))); }
      if (m[1] !== undefined) {
        if (inBold) { parent.appendChild(document.createTextNode(m[1])); }
        else { var strong = el('strong'); inline(strong, m[1], true); parent.appendChild(strong); }
        last = re.lastIndex;
      } else if (m[2] !== undefined) {
        link(parent, m[2], m[3]);
        last = re.lastIndex;
      } else {
        var url = m[4], trail = '';
        var cut = /[.,;:!?'"\u2019]+$/.exec(url);
        if (cut) { trail = cut[0]; url = url.slice(0, -trail.length); }
        if (/\)$/.test(url) && url.indexOf('(') === -1) { trail = ')' + trail; url = url.slice(0, -1); }
        link(parent, url, /^www\./i.test(url) ? 'https://' + url : url);
        if (trail) { parent.appendChild(document.createTextNode(trail)); }
        last = m.index + m[0].length;
      }
    }
    if (last < text.length) { parent.appendChild(document.createTextNode(text.slice(last))); }
  }

  function rich(container, text) {
    var lines = String(text).replace(/\r\n?/g, '\n').split('\n');
    var list = null, listTag = null, para = null, m;
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (/^\s*$/.test(line)) { list = null; para = null; continue; }
      if ((m = /^\s*[-*\u2022]\s+(.*)$/.exec(line)) || (m = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line))) {
        var tag = /^\s*\d/.test(line) ? 'ol' : 'ul';
        if (!list || listTag !== tag) { list = el(tag); listTag = tag; container.appendChild(list); }
        var li = el('li');
        inline(li, m[1]);
        list.appendChild(li);
        para = null;
        continue;
      }
      list = null;
      if (/^\s*Bron(nen)?:/.test(line)) {
        var source = el('p', 'kw-source');
        inline(source, line.trim());
        container.appendChild(source);
        para = null;
        continue;
      }
      if (para) { para.appendChild(el('br')); } else { para = el('p'); container.appendChild(para); }
      inline(para, line);
    }
  }

  // ---- build the widget -------------------------------------------------------------------

  var host, shadow, root, launcher, panel, body, intro, portalNote, starterBox, logEl, typingEl,
    connEl, alertEl, form, input, countEl, confirmBox, resetBtn, subtitleEl, handoffEl;
  var maxChars = 1000;
  var starters = [];

  function build() {
    host = el('div');
    host.id = 'kw-assistent';
    host.setAttribute('data-kw-widget', '');
    shadow = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var css = el('link');
    css.rel = 'stylesheet';
    css.href = base + '/static/widget.css';
    if (nonce) { css.nonce = nonce; }
    root = el('div', 'kw-root');
    root.hidden = true;
    var shown = false;
    function show() { if (!shown) { shown = true; root.hidden = false; } }
    css.addEventListener('load', show);
    css.addEventListener('error', show);
    window.setTimeout(show, 3000);
    shadow.appendChild(css);
    shadow.appendChild(root);

    launcher = el('button', 'kw-launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'kw-panel');
    launcher.appendChild(icon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'));
    launcher.appendChild(el('span', 'kw-launcher__text', T.launcher));
    launcher.addEventListener('click', function () { if (store.open) { close(); } else { open(true); } });

    panel = el('section', 'kw-panel');
    panel.id = 'kw-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-modal', 'false');
    panel.setAttribute('aria-labelledby', 'kw-title');
    panel.hidden = true;
    panel.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' || e.key === 'Esc') {
        e.preventDefault();
        if (!confirmBox.hidden) { hideConfirm(true); } else { close(); }
      }
    });

    var header = el('header', 'kw-header');
    var titles = el('div', 'kw-titles');
    var h = el('h2', 'kw-title', T.title);
    h.id = 'kw-title';
    titles.appendChild(h);
    subtitleEl = el('p', 'kw-subtitle', T.subtitle);
    titles.appendChild(subtitleEl);
    var actions = el('div', 'kw-actions');
    resetBtn = el('button', 'kw-reset', T.reset);
    resetBtn.type = 'button';
    resetBtn.addEventListener('click', showConfirm);
    var closeBtn = el('button', 'kw-close');
    closeBtn.type = 'button';
    closeBtn.setAttribute('aria-label', T.close);
    closeBtn.appendChild(icon('M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z'));
    closeBtn.addEventListener('click', close);
    actions.appendChild(resetBtn);
    actions.appendChild(closeBtn);
    header.appendChild(titles);
    header.appendChild(actions);

    confirmBox = el('div', 'kw-confirm');
    confirmBox.hidden = true;
    confirmBox.setAttribute('role', 'group');
    confirmBox.setAttribute('aria-labelledby', 'kw-confirm-text');
    var ct = el('p', null, T.confirmReset);
    ct.id = 'kw-confirm-text';
    var yes = el('button', 'kw-btn kw-btn--primary', T.confirmYes);
    yes.type = 'button';
    yes.addEventListener('click', function () { hideConfirm(false); resetConversation(); });
    var no = el('button', 'kw-btn', T.confirmNo);
    no.type = 'button';
    no.addEventListener('click', function () { hideConfirm(true); });
    confirmBox.appendChild(ct);
    confirmBox.appendChild(yes);
    confirmBox.appendChild(no);

    // Who the visitor talks to while the helpdesk has the conversation (a person, by name).
    handoffEl = el('p', 'kw-handoff');
    handoffEl.setAttribute('role', 'status');
    handoffEl.hidden = true;

    body = el('div', 'kw-body');
    intro = el('div', 'kw-intro');
    var p1 = el('p');
    p1.appendChild(el('strong', null, T.introAi));
    p1.appendChild(document.createTextNode(' ' + T.introWhat));
    intro.appendChild(p1);
    intro.appendChild(el('p', null, T.introHuman));
    var p3 = el('p', null, T.introPrivacy);
    link(p3, T.privacyLink, base + '/privacy');
    p3.appendChild(document.createTextNode('.'));
    intro.appendChild(p3);
    portalNote = el('p', 'kw-portal');
    portalNote.hidden = true;
    intro.appendChild(portalNote);
    starterBox = el('div', 'kw-buttons kw-starters');
    starterBox.setAttribute('role', 'group');
    starterBox.setAttribute('aria-label', T.starters);
    starterBox.hidden = true;
    intro.appendChild(starterBox);

    logEl = el('div', 'kw-log');
    logEl.setAttribute('role', 'log');
    logEl.setAttribute('aria-live', 'polite');
    logEl.setAttribute('aria-relevant', 'additions');
    logEl.setAttribute('aria-label', T.log);

    typingEl = el('div', 'kw-typing');
    typingEl.hidden = true;
    var dots = el('span', 'kw-dots');
    dots.setAttribute('aria-hidden', 'true');
    dots.appendChild(el('span'));
    dots.appendChild(el('span'));
    dots.appendChild(el('span'));
    typingEl.appendChild(dots);
    typingEl.appendChild(el('span', 'kw-typing__text', T.typing));

    body.appendChild(intro);
    body.appendChild(logEl);
    body.appendChild(typingEl);

    connEl = el('div', 'kw-conn');
    connEl.setAttribute('role', 'status');
    alertEl = el('div', 'kw-alert');
    alertEl.setAttribute('role', 'alert');

    form = el('form', 'kw-form');
    form.setAttribute('novalidate', '');
    var label = el('label', 'kw-label', T.inputLabel);
    label.htmlFor = 'kw-input';
    var row = el('div', 'kw-row');
    input = el('textarea', 'kw-input');
    input.id = 'kw-input';
    input.rows = 2;
    input.maxLength = maxChars;
    input.setAttribute('autocomplete', 'off');
    input.setAttribute('aria-describedby', 'kw-hint');
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    input.addEventListener('input', updateCount);
    var sendBtn = el('button', 'kw-send', T.send);
    sendBtn.type = 'submit';
    row.appendChild(input);
    row.appendChild(sendBtn);
    var hint = el('p', 'kw-hint', T.hint + ' ');
    hint.id = 'kw-hint';
    countEl = el('span', 'kw-count');
    hint.appendChild(countEl);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);
    form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });

    panel.appendChild(header);
    panel.appendChild(confirmBox);
    panel.appendChild(handoffEl);
    panel.appendChild(body);
    panel.appendChild(connEl);
    panel.appendChild(alertEl);
    panel.appendChild(form);
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(host);
  }

  function updateCount() {
    var left = maxChars - input.value.length;
    countEl.textContent = left <= Math.min(100, maxChars / 5) ? fmt(T.charsLeft, { n: left }) : '';
  }

  function showConfirm() {
    confirmBox.hidden = false;
    confirmBox.querySelector('.kw-btn--primary').focus();
  }
  function hideConfirm(refocus) {
    confirmBox.hidden = true;
    if (refocus) { resetBtn.focus(); }
  }

  // ---- rendering of the conversation ------------------------------------------------------

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
        if (item.image) { var ip = el('p'); link(ip, T.image, item.image); b.appendChild(ip); }
        wrap.appendChild(b);
      }
      if (item.buttons && item.buttons.length) {
        wrap.appendChild(choiceGroup(item.buttons, T.choices));
      }
    }
    return wrap;
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
  function findItem(id) {
    for (var i = store.items.length - 1; i >= 0; i--) {
      if (store.items[i].kind === 'user' && store.items[i].id === id) { return store.items[i]; }
    }
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
  function setTyping() {
    // While the helpdesk has the conversation, the assistant does not answer: no "typing".
    var waiting = conn.ready && store.outbox.length > 0 && !store.handoff;
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

  // ---- open / close -----------------------------------------------------------------------

  function open(focus) {
    store.open = true;
    save();
    panel.hidden = false;
    root.setAttribute('data-open', '');
    launcher.setAttribute('aria-expanded', 'true');
    ensureConnected();
    scrollDown();
    if (focus) { input.focus(); }
  }
  function close() {
    store.open = false;
    save();
    hideConfirm(false);
    panel.hidden = true;
    root.removeAttribute('data-open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  // ---- sending ----------------------------------------------------------------------------

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

  // ---- frames from the gateway ------------------------------------------------------------

  var answered = {};

  function onFrame(f) {
    if (!f || typeof f.type !== 'string') { return; }
    if (f.type === 'ready') { onReady(f); }
    else if (f.type === 'ack') { onAck(f); }
    else if (f.type === 'typing') { if (!store.handoff) { typingEl.hidden = false; scrollDown(); } }
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
      return { kind: kind, id: h.id, text: h.text || '', buttons: h.buttons || [], image: h.image, agent: h.agent };
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

  function dropFromOutbox(id) {
    store.outbox = store.outbox.filter(function (frame) { return frame.id !== id; });
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
      var node = append({ kind: 'bot', id: 'r-' + id + '-' + i, text: m.text || '', buttons: m.buttons || [], image: m.image, agent: m.agent });
      first = first || node;
    });
    save();
    setTyping();
    if (first) { scrollTo(first); }
  }

  function hasItem(id) {
    for (var i = store.items.length - 1; i >= 0; i--) { if (store.items[i].id === id) { return true; } }
    return false;
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
        if (f.code === 'unavailable' || f.code === 'rate_limited') { item.retry = frame; }
        updateUser(item);
      }
      save();
    }
    if (message) { setAlert(message); }
    setTyping();
  }

  // ---- transport: WebSocket with reconnect, plain HTTP as fallback ------------------------

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

  // ---- start ------------------------------------------------------------------------------

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
})();
