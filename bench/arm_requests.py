"""ARM requests per no-op converge, per role, against the lab: the goal is one GET per resource and no write.

Usage (from the repository root, lab running or not):  .venv/bin/python bench/arm_requests.py [role ...]
Each role is converged once, then converged again; the second run's ARM calls are counted from the
emulator's request log (token traffic excluded) and set against the Azure module tasks that ran.
A lab this script starts is stopped at the end.
"""
import json
import os
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable

ROLES = {
    "azure_dicom": {"azure_dicom_resource_group": "rg-bench", "azure_dicom_location": "westeurope",
                    "azure_dicom_workspace_name": "benchws", "azure_dicom_service_name": "pacs",
                    "azure_dicom_public_network_access": "Enabled"},
    "blob_archive": {"blob_archive_resource_group": "rg-bench", "blob_archive_location": "westeurope",
                     "blob_archive_account_name": "bencharchive"},
    "postgres_flexible": {"postgres_flexible_resource_group": "rg-bench", "postgres_flexible_location": "westeurope",
                          "postgres_flexible_server_name": "bench-index", "postgres_flexible_network_mode": "public",
                          "postgres_flexible_firewall_rules": [{"name": "lab", "start_ip_address": "127.0.0.1"}],
                          "postgres_flexible_admin_password": "Bench-Passw0rd-0001"},
}


def lab(*args):
    return subprocess.run([PYTHON, "-m", "lab", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def playbook(path, role, extra):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "vars": extra,
                    "tasks": [{"ansible.builtin.include_role": {"name": "medimaging.orthanc." + role}}]},
                   ], handle)


def run(path, env):
    done = subprocess.run([os.path.join(os.path.dirname(PYTHON), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + PYTHON, path], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    stats = json.loads(done.stdout[done.stdout.index("{"):]) if "{" in done.stdout else {}
    return done.returncode, stats


def azure_tasks(stats):
    """Azure module calls that ran in a playbook run (loop items counted one by one)."""
    count = 0
    for play in stats.get("plays", []):
        for task in play.get("tasks", []):
            result = task.get("hosts", {}).get("localhost", {})
            if result.get("skipped") or not result.get("action", "").startswith("medimaging.orthanc.azure_"):
                continue
            count += len(result.get("results", [])) or 1
    return count


def main(names):
    started = lab("status").returncode != 0
    if started and lab("up").returncode != 0:
        sys.exit("could not start the lab: python -m lab up")
    try:
        facts = json.loads(lab("env", "--json").stdout)
        ROLES["azure_dicom"]["azure_dicom_orthanc_principal_id"] = facts["principal_id"]  # adds the role assignment
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                   AZURE_ARM_ENDPOINT=facts["arm_endpoint"], AZURE_AUTHORITY_HOST=facts["authority_host"],
                   REQUESTS_CA_BUNDLE=facts["ca_bundle"], AZURE_SUBSCRIPTION_ID=facts["subscription_id"],
                   AZURE_TENANT_ID=facts["tenant_id"], AZURE_CLIENT_ID=facts["client_id"],
                   AZURE_CLIENT_SECRET=facts["client_secret"])
        with tempfile.TemporaryDirectory() as tmp:
            group = os.path.join(tmp, "group.json")
            with open(group, "w", encoding="utf-8") as handle:
                json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
                    {"medimaging.orthanc.azure_resource_group": {"name": "rg-bench", "location": "westeurope"}}]}],
                    handle)
            run(group, env)
            print("%-18s %9s %9s %7s %14s" % ("role", "resources", "ARM GETs", "writes", "GETs/resource"))
            for role in names:
                path = os.path.join(tmp, role + ".json")
                playbook(path, role, ROLES[role])
                rc, _ = run(path, env)
                if rc != 0:
                    print("%-18s first converge failed (rc=%s): see the lab's emulator log" % (role, rc))
                    continue
                mark = os.path.getsize(facts["request_log"])
                rc, stats = run(path, env)
                with open(facts["request_log"], encoding="utf-8") as handle:
                    handle.seek(mark)
                    calls = [json.loads(line) for line in handle if line.strip()]
                arm = [c for c in calls if c["path"].lower().startswith("/subscriptions/")]
                gets = sum(1 for c in arm if c["method"] == "GET")
                resources = azure_tasks(stats)
                print("%-18s %9d %9d %7d %14.2f" % (role, resources, gets, len(arm) - gets,
                                                    gets / resources if resources else float("nan")))
    finally:
        if started:
            lab("down")


if __name__ == "__main__":
    main(sys.argv[1:] or list(ROLES))
