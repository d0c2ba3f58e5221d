// DOM helpers: elements, icons, texts for screen readers, safe links.

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
