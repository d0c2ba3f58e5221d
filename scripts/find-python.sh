#!/usr/bin/env bash
# Print the path of a working Python interpreter of one of the given minor versions, e.g.
#   scripts/find-python.sh 3.10          (the Rasa runtime: Rasa 3.6 runs on nothing newer)
#   scripts/find-python.sh 3.13 3.12     (our runtime: a supported Python)
# `python3.X` may be a pyenv shim that refuses to run when that version is not active, so every
# candidate is tried for real.
set -u
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for want in "$@"; do
  candidates=("python$want" "/usr/bin/python$want" "/usr/local/bin/python$want")
  for d in "$root"/versions/"$want".*/bin/python"$want"; do candidates+=("$d"); done
  for c in "${candidates[@]}"; do
    if out=$("$c" -c "import sys; print(sys.executable) if '%d.%d' % sys.version_info[:2] == '$want' else sys.exit(1)" 2>/dev/null); then
      echo "$out"; exit 0
    fi
  done
done
echo "Python $* niet gevonden: installeer een van deze versies." >&2
exit 1
