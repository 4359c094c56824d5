"""The production AKS scenario in the lab: rollout time and the requests of a no-op converge.

Usage (from the repository root):  .venv/bin/python bench/aks_helm_rollout.py
Starts the scenario's lab (tests/integration/orthanc_aks_helm/aks_harness.py: a throwaway lab and an AKS-flavoured
lab cluster whose pods run on podman), converges playbooks/azure_production_aks.yml over inventories/aks_lab, then:
- a no-op converge of the whole scenario: ARM requests per resource (path relative to the subscription; LRO polls
  and token traffic excluded), the writes (POST listClusterUserCredential is a read), and whether the cluster's
  resourceVersion moved (a write to Kubernetes). Goal: one GET per resource, no write;
- `helm upgrade --install` of the release with one changed pod annotation (the role's generated values otherwise
  reused) and --wait: seconds until every pod of the new ReplicaSet is Ready, and the first install's time as the
  role's helm task reported it.
Prints one JSON document from that one run; exit status 1 if a converge failed or the goal was missed.
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "integration", "orthanc_aks_helm"))
from aks_harness import running_aks_lab  # noqa: E402  pylint: disable=wrong-import-position

NAMESPACE, RELEASE = "pacs", "orthanc"
LRO_POLL = re.compile(r"/(operationresults|operationstatuses|azureasyncoperation)/", re.IGNORECASE)
HELM_TASK = re.compile(r"orthanc_aks_helm : Install or upgrade the chart and wait for the rollout -+ ([0-9.]+)s")


def arm_requests(log_path, offset):
    with open(log_path, encoding="utf-8") as handle:
        handle.seek(offset)
        entries = [json.loads(line) for line in handle if line.strip()]
    gets, writes = collections.Counter(), []
    for entry in entries:
        path = entry["path"].split("?")[0]
        if not path.lower().startswith("/subscriptions/") or LRO_POLL.search(path):
            continue
        relative = path.split("/", 3)[3]
        if entry["method"] == "GET" or path.endswith("/listClusterUserCredential"):
            gets[relative] += 1
        else:
            writes.append("%s %s" % (entry["method"], relative))
    return gets, writes


def helm_rollout(aks_lab):
    """Seconds of `helm upgrade --install --wait` that rolls the pods (the generated values, one new annotation)."""
    values = aks_lab.helm_values(NAMESPACE, RELEASE)
    values.setdefault("podAnnotations", {})["bench.medimaging.io/rollout"] = str(time.time())
    path = os.path.join(aks_lab.workdir, "bench-values.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    home = os.path.join(aks_lab.workdir, "helm")
    env = dict(os.environ, HOME=home, HELM_CACHE_HOME=home + "/cache", HELM_CONFIG_HOME=home + "/config",
               HELM_DATA_HOME=home + "/data")
    started = time.monotonic()
    subprocess.run([os.path.join(REPO, ".cache", "tools", "bin", "helm"), "upgrade", "--install", RELEASE,
                    os.path.join(REPO, "files", "helm", "orthanc"), "-n", NAMESPACE, "-f", path, "--wait",
                    "--timeout", "300s", "--kubeconfig", aks_lab.cluster.write_kubeconfigs()["admin"]],
                   env=env, capture_output=True, text=True, timeout=330, check=True)
    seconds = time.monotonic() - started
    pods = [p for p in aks_lab.cluster.store.list("v1", "pods", NAMESPACE)
            if p["metadata"]["labels"].get("app.kubernetes.io/component") == "pacs"
            and not p["metadata"].get("deletionTimestamp")]
    ready = all(p["status"].get("containerStatuses", [{}])[0].get("ready") for p in pods)
    return round(seconds, 1), ready, len(pods)


def main():
    with tempfile.TemporaryDirectory(prefix="bench-aks-") as workdir, running_aks_lab(workdir) as aks_lab:
        done, first = aks_lab.playbook(label="converge")
        install = HELM_TASK.search(done.stdout)
        offset = os.path.getsize(aks_lab.env["request_log"])
        version = aks_lab.cluster.store.resource_version
        started = time.monotonic()
        _done, again = aks_lab.playbook(label="no-op")
        noop_seconds = time.monotonic() - started
        gets, writes = arm_requests(aks_lab.env["request_log"], offset)
        kube_written = aks_lab.cluster.store.resource_version != version
        # Last: the rollout changes the release's values (a converge after it would change them back).
        rollout, ready, pods = helm_rollout(aks_lab)
    report = {
        "first_converge_changed": first["changed"],
        "helm_install_wait_seconds_in_first_converge": float(install.group(1)) if install else None,
        "helm_upgrade_to_all_pods_ready_seconds": rollout, "pods_ready": ready, "pods": pods,
        "noop_converge": {"seconds": round(noop_seconds, 1), "changed": again["changed"],
                          "arm_gets_per_resource": dict(sorted(gets.items())), "arm_writes": writes,
                          "resources": len(gets), "gets": sum(gets.values()),
                          "gets_per_resource": round(sum(gets.values()) / max(len(gets), 1), 2),
                          "kubernetes_written": kube_written},
    }
    report["goal_met"] = (again["changed"] == 0 and not writes and not kube_written
                          and all(count == 1 for count in gets.values()))
    print(json.dumps(report, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
