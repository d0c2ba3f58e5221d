"""How the packages declare their sub-commands of ``python -m bot``: a table of (name, help,
function, arguments), added to the CLI's parser by :func:`add_table`. Every function is
``func(args, settings) -> int`` (the exit code) and talks Dutch through :func:`say`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: One argument: its flags or name, and add_argument's keyword arguments.
Argument = tuple[Sequence[str], dict[str, Any]]
#: One sub-command: name, help text, function, arguments.
Command = tuple[str, str, Callable[..., int], Sequence[Argument]]


def add_table(subparsers: Any, commands: Iterable[Command]) -> None:
    for name, help_text, func, arguments in commands:
        parser = subparsers.add_parser(name, help=help_text)
        for flags, options in arguments:
            parser.add_argument(*flags, **options)
        parser.set_defaults(func=func)


def say(text: str, error: bool = False) -> None:
    print(text, file=sys.stderr if error else sys.stdout, flush=True)


def refused(message: Any, code: int = 1) -> int:
    """Say why a command could not do its work (on stderr); its exit code."""
    say(str(message), error=True)
    return code
