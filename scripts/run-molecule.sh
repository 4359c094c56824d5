#!/usr/bin/env bash
# Every molecule scenario under molecule/, one after the other (they share this machine's ports and services).
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=$(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename | sort)
[ -n "$scenarios" ] || { echo "no molecule scenario found" >&2; exit 1; }
for scenario in $scenarios; do
    echo "==> molecule test -s $scenario"
    molecule test -s "$scenario"
done
