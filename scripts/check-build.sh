#!/usr/bin/env bash
# The built collection must hold the content and none of the lab, tests or molecule scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ansible-galaxy collection build --force --output-path "$out" . >/dev/null
tarball=$(ls "$out"/medimaging-orthanc-*.tar.gz)
listing=$(tar -tzf "$tarball")
for must in MANIFEST.json FILES.json README.md plugins/modules/orthanc_config.py roles/orthanc_host/tasks/main.yml \
            files/orthanc-plugin/entrypoint.py meta/runtime.yml; do
    grep -qx "$must\|./$must" <<<"$listing" || grep -q "$must" <<<"$listing" || { echo "build lacks $must" >&2; exit 1; }
done
if grep -E '^(\./)?(lab|tests|molecule|bench|scripts|\.venv|\.cache)/' <<<"$listing"; then
    echo "build contains files that must stay out of the collection (above)" >&2
    exit 1
fi
if grep -q '__pycache__' <<<"$listing"; then echo "build contains __pycache__" >&2; exit 1; fi
echo "build: $(basename "$tarball") $(du -h "$tarball" | cut -f1), $(wc -l <<<"$listing") entries, no lab/tests/molecule"
