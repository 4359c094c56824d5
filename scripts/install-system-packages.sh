#!/usr/bin/env bash
# Debian packages the lab and the tests need (bindep.txt lists them for execution environments too).
# Safe to re-run: apt-get runs only when a package is missing.
set -euo pipefail
# python3-psycopg2: the plugin's PostgreSQL client (medimaging_plugin/database.py) on Debian's Python 3.11.
packages=(orthanc orthanc-postgresql libpq5 orthanc-dicomweb orthanc-python orthanc-webviewer orthanc-gdcm
          postgresql postgresql-client python3-venv python3-psycopg2 dcmtk nginx libnginx-mod-stream cloud-init iproute2 unzip haproxy)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system packages missing: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own service starts are refused without an init system; the lab starts what it needs itself.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
