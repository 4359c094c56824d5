"""`helm template` of files/helm/orthanc for the chart's tests: real helm, real chart, manifests as dicts."""
import functools
import json
import os
import shutil
import subprocess
import tempfile

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CHART = os.path.join(REPO, "files", "helm", "orthanc")
CLOUD_FILES = ("values-azure.yaml", "values-aws.yaml", "values-gcp.yaml", "values-openshift.yaml")
HELM = shutil.which("helm") or os.path.join(REPO, ".cache", "tools", "bin", "helm")
RELEASE = "pacs"
FULLNAME = "pacs-orthanc"
# What every install must give (values.yaml leaves them empty on purpose: no default host or secret).
REQUIRED = {"auth": {"existingSecret": "orthanc-users"},
            "database": {"external": {"host": "db.example.org", "credentialsSecret": {"name": "orthanc-db"}}}}


class HelmError(Exception):
    """helm refused the values; the message is helm's stderr."""


def merged(*layers):
    """Values layers merged as helm merges -f files (maps deep, the rest replaced)."""
    out = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def helm(*args):
    result = subprocess.run([HELM] + list(args), capture_output=True, text=True, timeout=60, check=False)
    if result.returncode:
        raise HelmError(result.stderr.strip())
    return result.stdout


@functools.lru_cache(maxsize=None)
def _render(values_json, files):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(values_json)
    try:
        args = ["template", RELEASE, CHART, "--namespace", "pacs"]
        for name in files:
            args += ["-f", os.path.join(CHART, name)]
        return helm(*(args + ["-f", handle.name]))
    finally:
        os.unlink(handle.name)


def render_text(values=None, files=(), required=True):
    """The rendered manifests as text (cached per input: one helm run per distinct case)."""
    values = merged(REQUIRED if required and not files else {}, values or {})
    return _render(json.dumps(values, sort_keys=True), tuple(files))


def render(values=None, files=(), required=True):
    return Manifests(d for d in yaml.safe_load_all(render_text(values, files, required)) if d)


class Manifests(list):
    def kinds(self):
        return sorted(d["kind"] for d in self)

    def get(self, kind, name=FULLNAME):
        found = [d for d in self if d["kind"] == kind and d["metadata"]["name"] == name]
        assert len(found) == 1, "%s/%s: %d rendered (%s)" % (kind, name, len(found), self.kinds())
        return found[0]

    def has(self, kind):
        return any(d["kind"] == kind for d in self)

    @property
    def pod(self):
        return self.get("Deployment")["spec"]["template"]

    @property
    def container(self):
        return self.pod["spec"]["containers"][0]

    @property
    def config(self):
        return json.loads(self.get("ConfigMap")["data"]["orthanc.json"])

    @property
    def env(self):
        return {e["name"]: e.get("value") for e in self.container.get("env", [])}

    def volume(self, name):
        return next(v for v in self.pod["spec"]["volumes"] if v["name"] == name)
