#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter (Rasa 3.6 runs on nothing newer).
# `python3.10` may be a pyenv shim that refuses to run when 3.10 is not the active version,
# so every candidate is tried for real.
set -u
candidates=(python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10)
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for d in "$root"/versions/3.10*/bin/python3.10; do candidates+=("$d"); done
for c in "${candidates[@]}"; do
  if out=$("$c" -c 'import sys; print(sys.executable) if sys.version_info[:2] == (3, 10) else sys.exit(1)' 2>/dev/null); then
    echo "$out"; exit 0
  fi
done
echo "Python 3.10 niet gevonden: installeer python3.10 (Rasa 3.6 draait niet op nieuwere versies)." >&2
exit 1
