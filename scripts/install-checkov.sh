#!/usr/bin/env bash
# checkov (the Helm chart's policy scan, tests/unit/helm_chart) in its own venv: `pip install --dry-run checkov` into
# .venv would downgrade boto3/botocore 1.44 -> 1.35, packaging 26 -> 23.2 and networkx 3.7 -> 2.6 (checkov 3.3.30's
# pins), under amazon.aws, moto and ansible-lint. Re-runs only when the pin changes.
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
