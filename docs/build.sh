#!/usr/bin/env bash
# The documentation site: antsibull-docs writes the collection's pages (every module, role argument spec, plugin)
# from the collection itself, the hand-written pages (docs/rst) go beside them, Sphinx builds HTML with every
# warning an error. Output: build/docs/html. Usage: bash docs/build.sh (make docs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out="$repo/build/docs"
rm -rf "$out" && mkdir -p "$out/rst" && chmod 700 "$out/rst"  # antsibull-docs wants a folder only its owner writes
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$repo/ansible.cfg}"
cd "$repo"  # ansible.cfg's collections_path is relative: the collection is found through .cache/collections
antsibull-docs --config-file "$here/antsibull-docs.cfg" collection --use-current --fail-on-error \
    --dest-dir "$out/rst" medimaging.orthanc
cp -r "$here/rst/." "$out/rst/"
python3 "$here/plugin_settings.py" "$out/rst"   # the plugin's settings, from its configuration schema
python3 "$here/check_coverage.py" "$out/rst"    # every module, filter, role entry point, playbook and plugin section
sphinx-build -W --keep-going -n -q -b html -c "$here" "$out/rst" "$out/html"
echo "docs: $out/html/index.html"
