// What the embedding page said on the <script> tag (see docs/widget.md), and where the gateway is.
// `script` is the widget's own <script> element (the build's prelude finds it).

var VERSION = '1';
var base = (script.getAttribute('data-gateway') || new URL(script.src, location.href).origin).replace(/\/+$/, '');
var nonce = script.nonce || script.getAttribute('nonce') || '';
var portalToken = script.getAttribute('data-portal-token') || null;
var transportPref = script.getAttribute('data-transport') || 'auto';
var startOpen = script.getAttribute('data-open') === 'true';
var STORAGE_KEY = 'kw-assistent:' + VERSION + ':' + base;
var reduceMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
