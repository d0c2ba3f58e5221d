"""Is a message written in English? A word count, enough to add one English sentence saying
that the assistant answers in Dutch. Dutch with a few English words ("wanneer is de deadline",
"kan ik een meeting plannen") stays Dutch. A short question ("what is spuk?", "who
qualifies?") has too few words for the count, so there one unmistakably English question or
content word is enough when no Dutch word stands beside it; greetings and thanks alone are not,
as Dutch speakers use them too ("thanks", "hello")."""

from __future__ import annotations

import re

ENGLISH = frozenset(
    """the a an what when where which who whom why how is are was were do does did
    can could would should will i you my your our we they it this that there of for to in on with
    about please apply application money grant get much many any have has be been am not no yes
    hello hi thanks thank help me us from who's what's i'm don't can't part these those
    area areas funding eligible municipality municipalities neighbourhood neighborhood""".split()
)
DUTCH = frozenset(
    """de het een wat wanneer waar welke wie waarom hoe is zijn was ik je jij u mijn
    onze ons wij we ze zij van voor naar in op met over en of niet geen ja nee kan kun mag moet wil
    heb hebben er dit dat deze die hallo hoi dank bedankt graag geld aanvraag aanvragen gemeente
    hoeveel krijgt krijgen doet doen""".split()
)
#: Words no Dutch question uses; one is enough in a short message without Dutch words.
CLEARLY_ENGLISH = frozenset(
    """what when where which who whom why how the can could would should
    does did you your this these those there apply applying application money grant funding
    eligible qualify qualifies municipality municipalities neighbourhood neighborhood area areas
    much many get english speak who's what's how's it's""".split()
)
SHORT = 4
_WORD_RE = re.compile(r"[a-z']+")


def looks_english(text: str) -> bool:
    words = _WORD_RE.findall((text or "").lower())
    english = sum(w in ENGLISH and w not in DUTCH for w in words)
    dutch = sum(w in DUTCH and w not in ENGLISH for w in words)
    if english >= 2 and english > 2 * dutch:
        return True
    clear = sum(w in CLEARLY_ENGLISH for w in words)
    return (
        2 <= len(words) <= SHORT
        and clear >= 1
        and dutch == 0
        and not any(w in DUTCH for w in words if w not in ENGLISH)
    )
