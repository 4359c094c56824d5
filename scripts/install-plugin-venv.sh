#!/usr/bin/env bash
# The Orthanc plugin's dependency venv for the tests, on the Python that orthanc-python embeds (Debian's 3.11).
set -euo pipefail
venv=${1:-.cache/plugin-venv}
python=${PLUGIN_PYTHON:-/usr/bin/python3}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q -r files/orthanc-plugin/requirements.txt
