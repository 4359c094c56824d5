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
# Release notes: what `antsibull-changelog release` would write for galaxy.yml's version from changelogs/ and the
# fragments, made in a scratch copy (a release consumes the fragments). Fragments may use `single backticks`.
notes="$(mktemp -d)" && trap 'rm -rf "$notes"' EXIT
cp -r galaxy.yml changelogs plugins roles meta "$notes/"
version="$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)"
(cd "$notes" && antsibull-changelog release --version "$version" > "$notes/release.log" 2>&1) \
    || { cat "$notes/release.log" >&2; exit 1; }
{ printf '.. default-role:: literal\n\n'; cat "$notes/CHANGELOG.rst"; } > "$out/rst/changelog.rst"
sphinx-build -W --keep-going -n -q -b html -c "$here" "$out/rst" "$out/html"
echo "docs: $out/html/index.html"
