#!/usr/bin/env bash
# Every benchmark in bench/; each prints its own ratios. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in bench/*.py; do
    echo "==> $bench"
    python "$bench"
done
