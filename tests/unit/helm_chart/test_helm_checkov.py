"""checkov's Kubernetes policies over the chart as it renders for the main value sets: no failed check at all
(checkov without a Prisma Cloud account reports no severities, so none may fail); every skip is written in the
chart as a checkov.io/skipN annotation with its reason. checkov lives in its own venv (scripts/install-checkov.sh)."""
import hashlib
import json
import os
import subprocess

import pytest
import yaml

from helm_chart_render import CHART, REPO
from test_helm_kube_schemas import EVERYTHING

CHECKOV = os.path.join(REPO, ".cache", "checkov", "bin", "checkov")
RESULTS = os.path.join(REPO, ".cache", "checkov-results")
# Two runs cover every template: everything on with Azure's workload identity and Key Vault, and OpenShift's
# security context with the in-cluster database.
VALUE_SETS = {
    "everything-azure": EVERYTHING | {
        "auth": {"keyVaultObject": "orthanc-users"},
        "workloadIdentity": {"enabled": True, "clientId": "c"},
        "secrets": {"azureKeyVault": {"enabled": True, "vaultName": "pacs-kv", "tenantId": "t"}}},
    "openshift-in-cluster-db": {"podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None,
                                                       "fsGroupChangePolicy": None},
                                "auth": {"existingSecret": "users"},
                                "database": {"mode": "inCluster", "inCluster": {"credentialsSecret": {"name": "pg"}}},
                                "route": {"enabled": True}},
}


def _inputs_digest():
    """The chart's files, the value sets and checkov's pin: the same inputs give the same report."""
    digest = hashlib.sha256(json.dumps(VALUE_SETS, sort_keys=True).encode())
    with open(os.path.join(REPO, "scripts", "install-checkov.sh"), "rb") as handle:
        digest.update(handle.read())
    for folder, _dirs, files in sorted(os.walk(CHART)):
        for name in sorted(files):
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
    return digest.hexdigest()[:20]


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory):
    """One checkov run per value set, both at once (5-20 s each on a quiet 2-core machine, a minute under load);
    the reports are kept under .cache by the inputs' digest, so an unchanged chart is not scanned again."""
    cached = os.path.join(RESULTS, _inputs_digest() + ".json")
    if os.path.exists(cached):
        with open(cached, encoding="utf-8") as handle:
            return json.load(handle)
    subprocess.run(["bash", os.path.join(REPO, "scripts", "install-checkov.sh"), os.path.dirname(
        os.path.dirname(CHECKOV))], check=True, capture_output=True, timeout=900)
    folder = tmp_path_factory.mktemp("checkov")
    runs = {}
    for name, values in VALUE_SETS.items():
        path = str(folder / (name + ".yaml"))
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(values, handle)
        # --skip-download: no call to Prisma Cloud (the lab reaches nothing but PyPI, Debian and npm).
        runs[name] = subprocess.Popen(
            [CHECKOV, "-d", CHART, "--framework", "helm", "--var-file", path, "--compact",
             "--skip-download", "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, BC_SKIP_MAPPING="TRUE"))
    results = {}
    for name, process in runs.items():
        out, _ = process.communicate(timeout=300)
        report = json.loads(out)
        report = report if isinstance(report, dict) else report[0]
        results[name] = {"summary": report["summary"], "results": {
            kind: [{"check_id": c["check_id"], "check_name": c["check_name"], "resource": c["resource"],
                    "check_result": c["check_result"]} for c in report["results"].get(kind, [])]
            for kind in ("failed_checks", "skipped_checks")}}
    os.makedirs(RESULTS, exist_ok=True)
    with open(cached, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    return results


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_no_failed_checkov_check(checkov_results, value_set):
    report = checkov_results[value_set]
    failed = ["%s %s (%s)" % (c["check_id"], c["resource"], c["check_name"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 100 and report["summary"]["parsing_errors"] == 0


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_skip_is_one_the_chart_gives_a_reason_for(checkov_results, value_set):
    skipped = checkov_results[value_set]["results"]["skipped_checks"]
    assert {c["check_id"] for c in skipped} <= {"CKV_K8S_21", "CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_40"}
    assert all(c["check_result"].get("suppress_comment") for c in skipped)
