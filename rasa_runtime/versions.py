"""The versions of Rasa, rasa-sdk and TensorFlow this directory was written for, and the check
that refuses to start Rasa with any other.

The modules here replace or extend private parts of Rasa 3.6 and TensorFlow 2.12 (each module
lists what it touches). Another version may have renamed or changed any of them, and then a
patch fails in the middle of a turn or, worse, quietly computes something else. So ``serve.py``
starts Rasa only when each guarded package is installed at exactly the version that
requirements/rasa.lock pins: the lock the Rasa runtime is installed from is the one place that
names them. To move to another version: change the lock, install it, read every patch against
the new sources, and run the tests that exercise them (rasa_runtime/tests/).

Standard library only: the app runtime may import it too (to check the Rasa runtime before a
start), and it runs before Rasa is imported.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

#: Rasa and TensorFlow, whose private parts are patched, and rasa-sdk, which comes with Rasa
#: (checked when installed): the runtime must be exactly the one the tests ran against.
GUARDED = ("rasa", "rasa-sdk", "tensorflow")
OPTIONAL = frozenset({"rasa-sdk"})
LOCK = Path(__file__).resolve().parent.parent / "requirements" / "rasa.lock"
#: Another lock file to check against instead of LOCK; the tests point it at a copy with one pin
#: changed. The installed versions are always read from the environment itself.
LOCK_ENV = "KW_RASA_LOCK"

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them (rasa_sdk, Rasa-SDK and rasa-sdk are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file, by normalised name."""
    found: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def installed(name: str) -> str | None:
    """The installed version of a distribution in this interpreter's environment, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def lock_path() -> Path:
    override = os.environ.get(LOCK_ENV)
    return Path(override) if override else LOCK


def problems(lock: Path) -> list[str]:
    """One sentence for each guarded package whose installed version is not the pinned one."""
    try:
        wanted = pins(lock)
    except OSError as exc:
        return [f"the lock file {shown(lock)} cannot be read ({exc.strerror or exc})"]
    found: list[str] = []
    for name in GUARDED:
        pin, have = wanted.get(name), installed(name)
        if name in OPTIONAL and have is None:
            continue
        if pin is None:
            found.append(f"{shown(lock)} pins no version of {name} (installed: {have or 'none'})")
        elif have is None:
            found.append(f"{name} {pin} is pinned but not installed")
        elif have != pin:
            found.append(f"{name} {have} is installed, but the patches were written for {name} {pin}")
    return found


def refusal(lock: Path) -> str | None:
    """The message that refuses the start, or None when every guarded version matches."""
    found = problems(lock)
    if not found:
        return None
    return (
        f"Refusing to start Rasa: rasa_runtime/ changes private parts of Rasa and TensorFlow "
        f"and is only known to work with the versions pinned in {shown(lock)}; "
        + "; ".join(found)
        + ". Install the Rasa runtime from that lock (make setup), or port "
        "rasa_runtime/ to the new versions and change the lock (see rasa_runtime/versions.py)."
    )


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is in it (the usual lock), else as given."""
    try:
        return str(path.resolve().relative_to(LOCK.parent.parent))
    except ValueError:
        return str(path)


def check() -> None:
    """Exit with the refusal (non-zero, on stderr) unless the installed versions are the pinned."""
    message = refusal(lock_path())
    if message:
        sys.exit(message)


if __name__ == "__main__":
    check()
    print(f"The Rasa runtime has the versions pinned in {shown(lock_path())}.")
