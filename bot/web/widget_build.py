"""Builds the served widget script, bot/web/static/widget.js, from its source modules in
bot/web/static/widget/: they are concatenated, in ORDER, into one function scope (one IIFE), so
the embedding page still loads one file and the widget leaks nothing into it.

No bundler: the modules are plain ES5 fragments of that one scope. ``make setup`` runs
``python -m bot build-widget``; the gateway runs ``ensure_built()`` at start, which rewrites the
file only when it is missing or differs from what the sources give. The built file is ignored by
git: edit the modules, never widget.js.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
SOURCE_DIR = STATIC_DIR / "widget"
TARGET = STATIC_DIR / "widget.js"

#: The modules, in the order their top-level statements must run (main.js starts the widget).
ORDER = (
    "config.js",  # the <script> tag's attributes, the gateway's address
    "texts.js",  # the widget's own Dutch texts
    "state.js",  # the conversation in sessionStorage
    "dom.js",  # element helpers, safe links
    "markdown.js",  # bot text → elements
    "panel.js",  # launcher and panel, open and close
    "rendering.js",  # messages, status lines, scrolling
    "conversation.js",  # sending, and the gateway's frames
    "transport.js",  # WebSocket with reconnect, HTTP fallback
    "main.js",  # start and the public API
)

PRELUDE = """/*
 * Kansrijke Wijk Assistent: the embeddable chat widget.
 *
 * BUILT FILE: made by bot/web/widget_build.py from bot/web/static/widget/*.js. Edit those.
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
"""
EPILOGUE = "})();\n"

log = logging.getLogger("bot.web.widget_build")


def _indent(text: str) -> str:
    return "".join(("  " + line) if line.strip() else line for line in text.splitlines(True))


def render(source_dir: Path = SOURCE_DIR) -> str:
    """The built script's text."""
    present = {p.name for p in source_dir.glob("*.js")}
    unknown = present - set(ORDER)
    if unknown:
        raise ValueError(f"widget modules not in ORDER: {', '.join(sorted(unknown))}")
    parts = [PRELUDE]
    for name in ORDER:
        text = (source_dir / name).read_text(encoding="utf-8")
        parts.append(f"\n  // ==== {name} " + "=" * max(0, 86 - len(name)) + "\n\n")
        parts.append(_indent(text.rstrip("\n") + "\n"))
    parts.append(EPILOGUE)
    return "".join(parts)


def build(source_dir: Path = SOURCE_DIR, target: Path = TARGET) -> bool:
    """Write ``target`` when it is missing or stale; True when it was (re)written. Written
    atomically, so a gateway serving it meanwhile never sends half a file."""
    text = render(source_dir)
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def ensure_built(source_dir: Path = SOURCE_DIR, target: Path = TARGET) -> bool | None:
    """At gateway start: build when needed. Where the code is read-only (an installed image),
    an existing built file is served as it is; without one the gateway cannot serve the widget."""
    try:
        return build(source_dir, target)
    except OSError as exc:
        if target.exists():
            log.warning("widget.js not rebuilt (%s); serving the existing file", type(exc).__name__)
            return None
        raise
