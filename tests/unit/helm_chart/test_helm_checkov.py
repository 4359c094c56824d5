"""checkov's Kubernetes policies over the chart as it renders for the main value sets: no failed check at all
(checkov without a Prisma Cloud account reports no severities, so none may fail); every skip is written in the
chart as a checkov.io/skipN annotation with its reason. checkov lives in its own venv (scripts/install-checkov.sh)."""
import json
import os
import subprocess

import pytest
import yaml

from helm_chart_render import CHART, REPO
from test_helm_kube_schemas import EVERYTHING

CHECKOV = os.path.join(REPO, ".cache", "checkov", "bin", "checkov")
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


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory):
    """One checkov run per value set, both at once (each takes 5-20 s on this machine)."""
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
        results[name] = report if isinstance(report, dict) else report[0]
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
