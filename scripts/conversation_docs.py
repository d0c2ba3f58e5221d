"""Fill docs/conversations.md's `TRANSCRIPT <id>` lines with the transcripts of the last run of
the conversation suite (results/conversations/<id>.txt). Run by `make docs`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "conversations.md"
RUNS = ROOT / "results" / "conversations"
MAX_LINE = 400


def block(conv_id: str) -> str:
    lines = (RUNS / f"{conv_id}.txt").read_text(encoding="utf-8").strip().splitlines()
    short = [line if len(line) <= MAX_LINE else line[:MAX_LINE] + " …" for line in lines]
    return f"<!-- transcript {conv_id} -->\n```text\n" + "\n".join(short) + "\n```\n<!-- end -->"


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        i for i in re.findall(r"(?:TRANSCRIPT |<!-- transcript )([\w-]+)", text) if not (RUNS / f"{i}.txt").exists()
    ]
    if missing:
        print("Eerst de gesprekstest draaien; ontbreekt: " + ", ".join(missing))
        return 1
    text = re.sub(r"^TRANSCRIPT ([\w-]+)$", lambda m: block(m.group(1)), text, flags=re.M)
    text = re.sub(r"<!-- transcript ([\w-]+) -->.*?<!-- end -->", lambda m: block(m.group(1)), text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
