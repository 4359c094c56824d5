#!/usr/bin/env bash
# The viewer tests' browser and viewer: Debian's chromium (Playwright drives it: its own browser download is
# blocked here), Playwright for Python in the controller venv, and the pinned OHIF v3 build (@ohif/app from the
# npm registry) in .cache/ohif, verified against the sha256 pinned in roles/ohif_viewer/defaults/main.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
    [ "$(id -u)" -eq 0 ] || { echo "chromium missing: run as root (or: sudo apt-get install chromium)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq  # a fresh machine's package lists may predate chromium's current version
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
.venv/bin/python -c 'import playwright' 2>/dev/null || .venv/bin/pip install --quiet 'playwright>=1.40'
defaults=roles/ohif_viewer/defaults/main.yml
version=$(sed -n 's/^ohif_viewer_version: *"\?\([^"]*\)"\?$/\1/p' "$defaults")
sha256=$(sed -n 's/^ohif_viewer_sha256: *"\?\([0-9a-f]*\)"\?$/\1/p' "$defaults")
tarball=.cache/ohif/app-$version.tgz
if [ ! -f "$tarball" ] || ! echo "$sha256  $tarball" | sha256sum -c --quiet 2>/dev/null; then
    mkdir -p .cache/ohif
    curl -fsSL -o "$tarball.part" "https://registry.npmjs.org/@ohif/app/-/app-$version.tgz"
    echo "$sha256  $tarball.part" | sha256sum -c --quiet || { rm -f "$tarball.part"; echo "@ohif/app $version: checksum mismatch" >&2; exit 1; }
    mv "$tarball.part" "$tarball"
fi
echo "browser: $(/usr/bin/chromium --version); OHIF: $tarball"
