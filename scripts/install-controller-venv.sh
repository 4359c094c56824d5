#!/usr/bin/env bash
# The controller venv (.venv) on Python 3.12: ansible 13+ (ansible-core 2.20+) needs it.
set -euo pipefail
venv=${1:-.venv}
python=""
for candidate in "${PYTHON312:-}" "$(command -v pyenv >/dev/null && echo "$(pyenv root)/versions/3.12.1/bin/python3.12")" \
                 "$(command -v python3.12 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then python=$candidate; break; fi
done
if [ -z "$python" ]; then
    echo "Python 3.12 not found: install it (pyenv install 3.12 or apt) or set PYTHON312=/path/to/python3.12" >&2
    exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r requirements-dev.txt
