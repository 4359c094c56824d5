#!/usr/bin/env bash
# Everything `make test` runs: unit, each integration folder, sanity, lint, molecule, the build check and the docs,
# as independent parts, TEST_JOBS (default 3) at once, longest first (scripts/test_parts.py says why that is safe).
# Each part's log is in tests/output/logs/; the run ends with the failures' log tails and every part's time.
set -uo pipefail
cd "$(dirname "$0")/.."
exec python "$PWD/scripts/test_parts.py" "$@"  # the full path: ps tells which checkout runs
