"""Is a message written in English? A word count, enough to add one English sentence saying
that the assistant answers in Dutch. Dutch with a few English words ("wanneer is de deadline",
"kan ik een meeting plannen") stays Dutch."""
from __future__ import annotations

import re

ENGLISH = frozenset("""the a an what when where which who whom why how is are was were do does did
    can could would should will i you my your our we they it this that there of for to in on with
    about please apply application money grant get much many any have has be been am not no yes
    hello hi thanks thank help me us from who's what's i'm don't can't part these those
    area areas funding eligible municipality municipalities neighbourhood neighborhood""".split())
DUTCH = frozenset("""de het een wat wanneer waar welke wie waarom hoe is zijn was ik je jij u mijn
    onze ons wij we ze zij van voor naar in op met over en of niet geen ja nee kan kun mag moet wil
    heb hebben er dit dat deze die hallo hoi dank bedankt graag geld aanvraag aanvragen gemeente
    hoeveel krijgt krijgen doet doen""".split())
_WORD_RE = re.compile(r"[a-z']+")


def looks_english(text: str) -> bool:
    words = _WORD_RE.findall((text or "").lower())
    english = sum(w in ENGLISH and w not in DUTCH for w in words)
    dutch = sum(w in DUTCH and w not in ENGLISH for w in words)
    return english >= 2 and english > 2 * dutch
