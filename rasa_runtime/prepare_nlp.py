"""Build the Dutch spaCy pipeline that config.yml points at. Runs in the Rasa runtime (it needs
spaCy), as a script: ``.venv-rasa/bin/python rasa_runtime/prepare_nlp.py TARGET``.

spaCy's own nl_core_news_sm 3.4.0 is used when it is installed (the set-up tries spaCy's
release; it is not on PyPI). Where that download is not reachable, a local Dutch pipeline is
built from PyPI packages only: spaCy's Dutch language with the lookup lemmatizer from
spacy-lookups-data. It carries its own name so it is never mistaken for nl_core_news_sm.
Prints the pipeline's identity as JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

OFFICIAL = "nl_core_news_sm"
FALLBACK = "nl_kw_lookup"


def identity(target: Path) -> dict[str, str]:
    meta = Path(target) / "meta.json"
    if not meta.exists():
        return {}
    data = json.loads(meta.read_text(encoding="utf-8"))
    return {"name": f"{data.get('lang', '')}_{data.get('name', '')}", "version": str(data.get("version", ""))}


def _build_official():
    import spacy

    try:
        return spacy.load(OFFICIAL)
    except OSError:
        return None


def _build_fallback():
    import importlib.metadata as md

    import spacy
    import spacy_lookups_data  # noqa: F401  (the lemma tables; fail loudly if missing)

    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = FALLBACK[3:]
    nlp.meta["version"] = f"{spacy.__version__}+lookups{md.version('spacy-lookups-data')}"
    nlp.meta["description"] = (
        "Dutch tokenizer and lookup lemmatizer built locally from PyPI "
        "packages; used when nl_core_news_sm cannot be installed."
    )
    return nlp


def prepare(target: Path) -> dict[str, str]:
    """(Re)build the pipeline at `target` when the best available one differs from it."""
    target = Path(target)
    nlp = _build_official() or _build_fallback()
    wanted = {"name": f"{nlp.lang}_{nlp.meta['name']}", "version": str(nlp.meta["version"])}
    if identity(target) == wanted:
        return wanted
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    nlp.to_disk(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return identity(target)


if __name__ == "__main__":
    print(json.dumps(prepare(Path(sys.argv[1]))))
