#!/usr/bin/env bash
# checkov (the Helm chart's policy scan, tests/unit/helm_chart) in its own venv: it pins dozens of packages
# (boto3, networkx, pydantic ...) that would fight the controller venv's. Re-runs only when the pin changes.
set -euo pipefail
venv=${1:-.cache/checkov}
pin="checkov>=3.2,<4"
if [ -x "$venv/bin/checkov" ] && [ "$(cat "$venv/.pin" 2>/dev/null)" = "$pin" ]; then
    exit 0
fi
python=""
for candidate in "${PYTHON312:-}" "$(command -v pyenv >/dev/null && echo "$(pyenv root)/versions/3.12.1/bin/python3.12")" \
                 "$(command -v python3.12 || true)" "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then python=$candidate; break; fi
done
"$python" -m venv "$venv"
"$venv/bin/pip" install -q "$pin"
echo "$pin" > "$venv/.pin"
echo "checkov: $("$venv/bin/checkov" --version) in $venv"
