// The widget's DOM: launcher and panel (in a shadow root, styled by widget.css), opening and
// closing, and the confirmation before the conversation is wiped.

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
