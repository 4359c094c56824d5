#!/usr/bin/env bash
# Everything `make test` runs, in order, each part timed; stops at the first failure with a clear line.
set -uo pipefail
cd "$(dirname "$0")/.."
pytest="pytest -p no:cacheprovider"
summary=()
run() {
    local name=$1; shift
    local start=$SECONDS
    echo "==> $name: $*"
    "$@"
    local rc=$?
    summary+=("$(printf '%-12s %4ss  rc=%s' "$name" $((SECONDS - start)) "$rc")")
    if [ $rc -ne 0 ]; then
        printf '%s\n' "${summary[@]}"
        echo "make test: $name FAILED (rc=$rc)" >&2
        exit $rc
    fi
}
# pytest exits 5 when it collects nothing: for a folder that must hold tests, that is a failure too.
run unit        $pytest -q tests/unit
run integration $pytest -q --durations=25 tests/integration  # the slowest tests listed: CI time is budgeted
run sanity      bash scripts/run-sanity.sh
run lint        bash -c 'ansible-lint --profile production && yamllint -s .'
run molecule    bash scripts/run-molecule.sh
run build       bash scripts/check-build.sh
run docs        bash docs/build.sh  # every module and role page from the collection, Sphinx warnings are errors (~50 s; last)
printf '%s\n' "${summary[@]}"
echo "make test: all parts passed"
