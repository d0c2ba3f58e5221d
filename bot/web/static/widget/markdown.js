// Markdown-lite for bot text: **bold**, lists, [links](https://...) and bare URLs. Everything
// becomes text nodes and elements; nothing is parsed as HTML. (An answer's sources are data, not
// text: rendering.js shows them.)

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
    if (para) { para.appendChild(el('br')); } else { para = el('p'); container.appendChild(para); }
    inline(para, line);
  }
}
