"""Prepare the Dutch spaCy pipeline that config.yml points at (var/spacy/nl).

spaCy's own nl_core_news_sm 3.4.0 is used when it is installed (the set-up tries spaCy's
release; it is not on PyPI). Where that download is not reachable, a local Dutch pipeline is
built from PyPI packages only: spaCy's Dutch language with the lookup lemmatizer from
spacy-lookups-data. It carries its own name so it is never mistaken for nl_core_news_sm.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict

OFFICIAL = "nl_core_news_sm"
FALLBACK = "nl_kw_lookup"


def identity(target: Path) -> Dict[str, str]:
    """name and version of the pipeline at `target`, from its meta.json ({} if absent)."""
    meta = Path(target) / "meta.json"
    if not meta.exists():
        return {}
    data = json.loads(meta.read_text(encoding="utf-8"))
    return {"name": f"{data.get('lang', '')}_{data.get('name', '')}", "version": str(data.get("version", ""))}


def describe(ident: Dict[str, str]) -> str:
    if not ident:
        return "geen Nederlandse pijplijn voorbereid"
    if ident["name"] == OFFICIAL:
        return f"spaCy {OFFICIAL} {ident['version']}"
    return f"lokale Nederlandse pijplijn {ident['name']} {ident['version']} (spaCy-taal nl + lookup-lemmatizer)"


def _build_official():
    import spacy

    try:
        nlp = spacy.load(OFFICIAL)
    except OSError:
        return None
    return nlp


def _build_fallback():
    import spacy
    import spacy_lookups_data  # noqa: F401  (the lemma tables; fail loudly if missing)

    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = FALLBACK[3:]
    import importlib.metadata as md

    nlp.meta["version"] = f"{spacy.__version__}+lookups{md.version('spacy-lookups-data')}"
    nlp.meta["description"] = ("Dutch tokenizer and lookup lemmatizer built locally from PyPI "
                               "packages; used when nl_core_news_sm cannot be installed.")
    return nlp


def prepare(target: Path) -> Dict[str, str]:
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
